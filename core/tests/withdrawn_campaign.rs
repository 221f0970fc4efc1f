//! The in-memory backend refuses a campaign its sender gave up on before it resigned.
//!
//! A campaign whose client timed out may still reach the backend later. If the node has resigned
//! that election meanwhile (and perhaps left it for good), granting the stale campaign would hand
//! the election to a node that no longer leads it, for as long as its lease lives. Campaigns and
//! resigns carry the client's increasing number; these tests drive [`MemoryState`] directly. A
//! resign that lands late, in turn, ends no leadership a campaign sent after it won.

use std::time::Duration;

use cronfence::memory::{MemoryState, Refusal, Request, Response};
use cronfence::ElectionName;

const S: Duration = Duration::from_secs(1);

fn lease(state: &mut MemoryState) -> u64 {
    let grant = Request::Grant {
        ttl: Duration::from_secs(3600),
    };
    match state.apply(Duration::ZERO, grant).response {
        Response::Granted { lease } => lease,
        other => panic!("a lease is granted: {other:?}"),
    }
}

fn campaign(state: &mut MemoryState, lease: u64, seq: u64) -> Response {
    let request = Request::Campaign {
        election: ElectionName::new("e"),
        lease,
        value: format!("node-{lease}"),
        seq,
    };
    state.apply(S, request).response
}

fn resign(state: &mut MemoryState, lease: u64, seq: u64) {
    let request = Request::Resign {
        election: ElectionName::new("e"),
        lease,
        seq,
    };
    assert_eq!(state.apply(S, request).response, Response::Done);
}

fn holder(state: &mut MemoryState) -> Option<String> {
    let request = Request::Leader {
        election: ElectionName::new("e"),
    };
    match state.apply(S, request).response {
        Response::Leader(leader) => leader.map(|l| l.value),
        other => panic!("a leader answer: {other:?}"),
    }
}

#[test]
fn a_campaign_sent_before_its_resign_does_not_win_after_it() {
    // Campaign 1 is delayed; campaign 2 wins; resign 3 gives the election up; then campaign 1
    // lands on the vacant election. It must be refused and the election stay vacant: granting
    // it was the orphan leadership of explorer memory seed 433.
    let mut state = MemoryState::new();
    let node = lease(&mut state);
    assert!(matches!(
        campaign(&mut state, node, 2),
        Response::Won { .. }
    ));
    resign(&mut state, node, 3);
    let late = campaign(&mut state, node, 1);
    assert!(
        matches!(late, Response::Refused(Refusal::Withdrawn { .. })),
        "{late:?}"
    );
    assert_eq!(holder(&mut state), None);
}

#[test]
fn a_resign_of_an_election_never_won_still_withdraws_earlier_campaigns() {
    // The node's campaign timed out and it resigned without holding anything: the campaign
    // arriving afterwards is as stale as one that had won.
    let mut state = MemoryState::new();
    let node = lease(&mut state);
    resign(&mut state, node, 2);
    let late = campaign(&mut state, node, 1);
    assert!(matches!(late, Response::Refused(Refusal::Withdrawn { .. })));
    assert_eq!(holder(&mut state), None);
}

#[test]
fn a_campaign_sent_after_the_resign_wins_and_others_are_untouched() {
    // The rule refuses only campaigns of the resigning lease sent before its resign: the same
    // node campaigning again afterwards wins, and another node's campaign numbered lower (its
    // own client's numbers) is not judged by this lease's resign.
    let mut state = MemoryState::new();
    let node = lease(&mut state);
    let other = lease(&mut state);
    assert!(matches!(
        campaign(&mut state, node, 1),
        Response::Won { .. }
    ));
    resign(&mut state, node, 2);
    assert!(matches!(
        campaign(&mut state, other, 1),
        Response::Won { .. }
    ));
    assert_eq!(holder(&mut state), Some(format!("node-{other}")));
    resign(&mut state, other, 2);
    assert!(matches!(
        campaign(&mut state, node, 3),
        Response::Won { .. }
    ));
    assert_eq!(holder(&mut state), Some(format!("node-{node}")));
}

#[test]
fn a_resign_sent_before_the_winning_campaign_does_not_end_its_leadership() {
    // Resign 1 (of an earlier leadership) is delayed; campaign 2 wins; then resign 1 lands: the
    // leadership campaign 2 won stands, or the node would lead on a fence the backend refuses.
    let mut state = MemoryState::new();
    let node = lease(&mut state);
    assert!(matches!(
        campaign(&mut state, node, 2),
        Response::Won { .. }
    ));
    resign(&mut state, node, 1);
    assert_eq!(holder(&mut state), Some(format!("node-{node}")));
    resign(&mut state, node, 3);
    assert_eq!(holder(&mut state), None);
}
