//! Where a refusal points: turning a key path (`jobs.1.id`) or a byte span into `line:column`,
//! and the errors of reading a file (missing, a folder, unreadable, not UTF-8) into located
//! errors with the hint that fits each.
//!
//! The validation ([`super::validate`]) says *what* is wrong and names the key; this module only
//! finds it in the text. It re-reads the document with toml's spanned tables, so a value the
//! scenario types keep without a span (`nodes`, `[node] lease_ttl`, a job's `id`) is still
//! pointed at; a key the file leaves out (a default) is located at its table, else at 1:1.

use std::io::ErrorKind;
use std::ops::Range;
use std::path::Path;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::ScenarioError;

/// Where in the file a refusal points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// A byte span of the text.
    Span(Range<usize>),
    /// A dotted key path such as `node.lease_ttl` or `jobs.1.id` (array indices are numbers).
    Key(String),
    /// The file as a whole (1:1).
    File,
}

/// A refusal from the validation: where, what, and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// Where it points.
    pub place: Place,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

impl Refusal {
    /// A refusal of the value at the dotted key path `key`.
    pub fn at(key: impl Into<String>, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Refusal {
            place: Place::Key(key.into()),
            message: message.into(),
            hint: hint.into(),
        }
    }
}

impl From<super::validate::Invalid> for Refusal {
    fn from((span, message, hint): super::validate::Invalid) -> Self {
        Refusal {
            place: span.map_or(Place::File, Place::Span),
            message,
            hint: hint.into(),
        }
    }
}

/// The located error of `refusal` in `text`.
pub(crate) fn locate(path: &Path, text: &str, refusal: Refusal) -> ScenarioError {
    let offset = match &refusal.place {
        Place::Span(span) => span.start,
        Place::Key(key) => key_offset(text, key),
        Place::File => 0,
    };
    let (line, column) = line_column(text, offset);
    ScenarioError {
        path: path.to_path_buf(),
        line,
        column,
        message: refusal.message,
        hint: refusal.hint,
    }
}

/// The byte offset of the value at `key` (or of the nearest table on its path that exists).
fn key_offset(text: &str, key: &str) -> usize {
    let Ok(root) = DeTable::parse(text) else {
        return 0;
    };
    let mut parts = key.split('.');
    let Some(first) = parts.next() else { return 0 };
    let Some(mut value) = root.get_ref().get(first) else {
        return 0;
    };
    let mut found = start_of(value);
    for part in parts {
        let next = match part.parse::<usize>() {
            Ok(index) => value.get_ref().get(index),
            Err(_) => value.get_ref().get(part),
        };
        match next {
            Some(v) => {
                value = v;
                found = start_of(v);
            }
            None => break,
        }
    }
    found
}

fn start_of(value: &Spanned<DeValue<'_>>) -> usize {
    value.span().start
}

/// 1-based line and column (in characters) of byte `offset`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Reads `path` as UTF-8 text, or says why it cannot, with the fix that fits the reason.
pub(crate) fn read(path: &Path) -> Result<String, ScenarioError> {
    let fail = |line, column, message: String, hint: &str| ScenarioError {
        path: path.to_path_buf(),
        line,
        column,
        message,
        hint: hint.to_string(),
    };
    if path.is_dir() {
        return Err(fail(
            1,
            1,
            "this is a folder, not a scenario file".into(),
            "name one `*.toml` file; `cronfence report FOLDER` runs every file in a folder",
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        let (message, hint) = match e.kind() {
            ErrorKind::NotFound => (
                "no such file".to_string(),
                "check the path (relative paths start at the current folder); the scenarios \
                 live in scenarios/",
            ),
            ErrorKind::PermissionDenied => (
                "permission denied: this user may not read the file".to_string(),
                "make the file readable (e.g. `chmod u+r FILE`) or run as its owner",
            ),
            _ => (
                format!("cannot read the file: {e}"),
                "check that the path names a readable scenario file",
            ),
        };
        fail(1, 1, message, hint)
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let bad = e.utf8_error().valid_up_to();
        let byte = e.as_bytes()[bad];
        let valid = std::str::from_utf8(&e.as_bytes()[..bad]).expect("valid up to `bad`");
        let (line, column) = line_column(valid, bad);
        fail(
            line,
            column,
            format!("the file is not valid UTF-8 (byte {bad}: 0x{byte:02x})"),
            "save the file as UTF-8 (TOML files must be UTF-8); the bad byte is often a \
             Latin-1 or Windows-1252 character",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "description = \"x\"\nnodes = 3\n\n[node]\nlease_ttl = \"1s\"\n\n\
                        [[jobs]]\nid = \"a\"\n\n[[jobs]]\nid = \"b\"\n";

    fn at(key: &str) -> (usize, usize) {
        line_column(TEXT, key_offset(TEXT, key))
    }

    #[test]
    fn a_key_path_points_at_its_value() {
        // Each value's own line and the column just after `key = `.
        assert_eq!(at("nodes"), (2, 9));
        assert_eq!(at("node.lease_ttl"), (5, 13));
        assert_eq!(at("jobs.1.id"), (11, 6));
    }

    #[test]
    fn a_key_left_out_points_at_its_table() {
        // `request_timeout` is not written: the refusal points at the `[node]` table.
        assert_eq!(at("node.request_timeout").0, 4);
        assert_eq!(at("random.every"), (1, 1));
    }

    #[test]
    fn a_bad_byte_is_located_and_numbered() {
        // The invalid byte is at offset 20: line 2, column 3, just after "ab".
        let dir = std::env::temp_dir().join(format!("cronfence-locate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("latin1.toml");
        std::fs::write(&file, b"description = \"x\"\nab\xe9\n").unwrap();
        let e = read(&file).unwrap_err();
        assert_eq!((e.line, e.column), (2, 3), "{e}");
        assert!(e.message.contains("not valid UTF-8 (byte 20: 0xe9)"), "{e}");
        let folder = read(&dir).unwrap_err();
        assert!(folder.message.contains("folder"), "{folder}");
        let missing = read(&dir.join("missing.toml")).unwrap_err();
        assert_eq!(missing.message, "no such file", "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
