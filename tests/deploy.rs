//! What ships for Kubernetes, checked without a cluster or root: the
//! Containerfile builds the way the README says a fresh Debian 12 machine
//! builds (issue 16: "its build steps are the README's"), in stages on
//! Debian 12, and the pieces the manifests name are there. The manifests
//! themselves are validated against the Kubernetes schemas, and the
//! Containerfile linted, by `deploy/k8s/validate.sh` (in `.ci/run`).

use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The lines of the first ```sh block of the README's "## Many machines".
fn readme_build_steps() -> Vec<String> {
    let readme = read("README.md");
    let at = readme
        .find("\n## Many machines")
        .expect("README has a Many machines section");
    let section = &readme[at..];
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("Many machines has a sh block");
    block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// Every Containerfile instruction, continuation lines joined.
fn instructions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(more) => current.push_str(more),
            None => {
                current.push_str(line);
                out.push(current.split_whitespace().collect::<Vec<_>>().join(" "));
                current.clear();
            }
        }
    }
    out
}

#[test]
fn the_containerfile_builds_with_the_readmes_steps_on_debian_12() {
    let steps = readme_build_steps();
    assert_eq!(
        steps,
        ["deploy/setup.sh && cargo build --release"],
        "README"
    );
    let ins = instructions(&read("Containerfile"));
    let froms: Vec<&String> = ins.iter().filter(|i| i.starts_with("FROM ")).collect();
    assert_eq!(
        froms,
        ["FROM debian:bookworm AS build", "FROM debian:bookworm-slim"],
        "two stages on Debian 12"
    );
    // The build stage's own work is the README's, as written.
    let build_runs: Vec<&String> = ins
        .iter()
        .skip_while(|i| !i.starts_with("COPY . "))
        .take_while(|i| !i.starts_with("FROM "))
        .filter(|i| i.starts_with("RUN "))
        .collect();
    let want: Vec<String> = steps.iter().map(|s| format!("RUN {s}")).collect();
    assert_eq!(build_runs, want.iter().collect::<Vec<_>>(), "{ins:#?}");
    // The binary and the agents' entry point reach the final image.
    for copy in [
        "COPY --from=build /src/target/release/synwave /usr/local/bin/synwave",
        "COPY deploy/k8s/agent.sh /usr/local/bin/synwave-agent",
    ] {
        assert!(ins.iter().any(|i| i == copy), "no `{copy}` in {ins:#?}");
    }
}

#[test]
fn the_manifests_name_what_exists_and_ci_validates_them() {
    use std::os::unix::fs::PermissionsExt as _;
    for script in ["deploy/k8s/agent.sh", "deploy/k8s/validate.sh"] {
        let mode = std::fs::metadata(Path::new(ROOT).join(script))
            .unwrap_or_else(|e| panic!("{script}: {e}"))
            .permissions()
            .mode();
        assert!(mode & 0o111 != 0, "{script} is not executable");
    }
    let agents = read("deploy/k8s/agents.yaml");
    assert!(
        agents.contains("command: [\"synwave-agent\"]"),
        "the Job runs agent.sh"
    );
    assert!(
        read(".ci/run").contains("deploy/k8s/validate.sh"),
        "CI validates the manifests"
    );
    assert!(
        read("deploy/setup.sh").contains("python3-venv"),
        "validate.sh's venv"
    );
}
