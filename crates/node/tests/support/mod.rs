//! Running a real `rucksack serve` for tests: a free loopback port, a temporary data
//! directory, accounts made through the admin CLI, and a signed client.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rucksack_node::client::ApiClient;
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_rucksack");

pub struct Server {
    pub child: Child,
    pub url: String,
    pub data_dir: PathBuf,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

impl Server {
    /// Starts a server on `data_dir` and waits until it serves.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Server {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let mut child = Command::new(BIN)
            .arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start rucksack serve");
        let stdout = child.stdout.take().expect("stdout");
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("rucksack is serving on") {
                    let _ = ready_tx.send(());
                }
            }
        });
        ready_rx.recv_timeout(Duration::from_secs(60)).expect("server did not become ready");
        Server { child, url, data_dir: data_dir.to_path_buf() }
    }

    pub fn admin(&self, args: &[&str]) -> Value {
        let output = Command::new(BIN)
            .args(["admin", "--server", &self.url, "--data-dir"])
            .arg(&self.data_dir)
            .args(args)
            .output()
            .expect("run rucksack admin");
        assert!(output.status.success(), "admin {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice(&output.stdout).expect("admin prints JSON")
    }

    /// A new account funded with `funds` (`ASSET=AMOUNT`), and a client signing as it.
    pub fn account(&self, funds: &[&str]) -> (u64, ApiClient) {
        let mut args = vec!["create-account"];
        for fund in funds {
            args.push("--fund");
            args.push(fund);
        }
        let created = self.admin(&args);
        let client = ApiClient::new(&self.url, created["apiSecret"].as_str().expect("secret")).expect("client");
        (created["accountId"].as_u64().expect("account id"), client)
    }

    /// SIGTERM, and wait for a clean exit.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().expect("send SIGTERM");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(exit) = self.child.try_wait().expect("wait") {
                assert!(exit.success(), "server exited with {exit}");
                return;
            }
            assert!(Instant::now() < deadline, "server did not stop after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("wait");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `call` that must answer 200.
pub fn ok(client: &ApiClient, method: &str, path: &str, query: Option<&str>, body: Option<&Value>) -> Value {
    let (status, value) = client.call(method, path, query, body).expect("request");
    assert_eq!(status, 200, "{method} {path} answered {status}: {value}");
    value
}
