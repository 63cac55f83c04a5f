//! A turn's `files` hold for the real file: symlinks followed, missing files refused.

use clawdforge_domain::files::resolve_files;
use clawdforge_domain::ports::MockPathResolver;
use clawdforge_domain::Error;

fn roots() -> Vec<String> {
    vec!["/data".into()]
}

#[tokio::test]
async fn a_symlink_out_of_the_roots_is_refused() {
    let mut r = MockPathResolver::new();
    r.expect_resolve().returning(|_| Some("/etc/shadow".into()));
    let e = resolve_files(&r, &roots(), &["/data/link".into()]).await.expect_err("refused");
    assert_eq!(e, Error::invalid("files[0]", "leads outside the allowed roots"));
}

#[tokio::test]
async fn a_missing_file_is_refused_and_a_path_outside_is_never_looked_up() {
    let mut r = MockPathResolver::new();
    r.expect_resolve().times(1).returning(|_| None);
    let e = resolve_files(&r, &roots(), &["/data/nope".into()]).await.expect_err("refused");
    assert_eq!(e, Error::invalid("files[0]", "does not exist"));
    let e = resolve_files(&r, &roots(), &["/etc/passwd".into()]).await.expect_err("refused");
    assert!(e.to_string().contains("inside the allowed roots"), "{e}");
}

#[tokio::test]
async fn resolved_paths_replace_the_given_ones() {
    let mut r = MockPathResolver::new();
    r.expect_resolve().returning(|p| Some(p.replace("/link", "/real")));
    let got = resolve_files(&r, &roots(), &["/data/link/a.rs".into()]).await.expect("allowed");
    assert_eq!(got, ["/data/real/a.rs"]);
}
