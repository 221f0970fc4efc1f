//! The README must show the example that actually compiles: `examples/print_every_10s.rs`, from
//! its first `use` line to the end, verbatim. Editing one without the other fails here.

#[test]
fn readme_example_is_the_compiled_example() {
    let readme = include_str!("../../README.md");
    let example = include_str!("../examples/print_every_10s.rs");
    let code = &example[example
        .find("use cronfence")
        .expect("the example imports cronfence")..];
    assert!(
        readme.contains(code.trim_end()),
        "README.md must contain examples/print_every_10s.rs verbatim:\n{code}"
    );
}
