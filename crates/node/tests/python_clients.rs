//! Runs `tests/clients/run.sh`: ccxt, bpx-py and backpack-exchange-sdk, unmodified, against the
//! `rucksack` binary this build made, so `cargo test --workspace` covers the Python clients too.
//!
//! The script makes its Python environments once (from PyPI) and reuses them. Without `python3`
//! the test is skipped with a message, unless `RUCKSACK_REQUIRE_PYTHON_CLIENTS=1` (as CI sets)
//! makes that a failure.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Bound on the whole run, including building the environments the first time.
const TIMEOUT: Duration = Duration::from_secs(30 * 60);

#[test]
fn python_clients_against_rucksack() {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let present = Command::new(&python)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !present {
        assert!(
            std::env::var_os("RUCKSACK_REQUIRE_PYTHON_CLIENTS").is_none_or(|v| v != "1"),
            "{python} is required for the Python client tests"
        );
        eprintln!("SKIPPED: the Python client tests (ccxt, bpx-py, backpack-exchange-sdk) need {python}");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/run.sh");
    let mut command = Command::new("bash");
    command.arg(&script).env("RUCKSACK_BIN", env!("CARGO_BIN_EXE_rucksack")).stdin(Stdio::null());
    // Its own process group, so a timeout can stop pytest and the servers it started too.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command.spawn().expect("bash runs tests/clients/run.sh");
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for run.sh") {
            break status;
        }
        if Instant::now() > deadline {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
            std::thread::sleep(Duration::from_secs(5));
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = child.wait();
            panic!("tests/clients/run.sh did not finish within {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(status.success(), "the Python client tests failed ({status}); see the output above");
}
