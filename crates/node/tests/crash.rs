//! Crash safety of the whole writer: a `rucksack load` process is killed with SIGKILL in the
//! middle of a burst of acknowledged commands. After a restart every acknowledged command is in
//! the state, the journal continues cleanly, and the finished run is identical to one that was
//! never interrupted.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use rucksack_engine::Engine;
use rucksack_journal::{FRAME_HEADER_LEN, JournalReader, SEGMENT_HEADER_LEN};
use rucksack_node::generator::Generator;
use rucksack_testkit::{Stamp, WorkloadMix};

const BIN: &str = env!("CARGO_BIN_EXE_rucksack");
const SEED: u64 = 11;
const ACCOUNTS: u64 = 16;
const TOTAL: usize = 40_000;

fn load(data_dir: &Path, ack_every: u64) -> Command {
    let mut command = Command::new(BIN);
    command.args(["load", "--synthetic-clock", "--snapshot-every", "5000", "--ack-every", &ack_every.to_string()]);
    command.args(["--segment-bytes", "262144", "--seed", &SEED.to_string(), "--accounts", &ACCOUNTS.to_string()]);
    command.args(["--commands", &TOTAL.to_string(), "--data-dir"]).arg(data_dir);
    command
}

fn json_field(line: &str, field: &str) -> serde_json::Value {
    let value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    value[field].clone()
}

fn replay(data_dir: &Path, from_genesis: bool) -> (u64, String) {
    let mut command = Command::new(BIN);
    command.arg("replay").arg("--data-dir").arg(data_dir);
    if from_genesis {
        command.arg("--from-genesis");
    }
    let output = command.output().expect("run replay");
    assert!(output.status.success(), "replay failed: {}", String::from_utf8_lossy(&output.stderr));
    let line = String::from_utf8_lossy(&output.stdout).trim().to_string();
    (json_field(&line, "lastSeq").as_u64().unwrap(), json_field(&line, "stateHash").as_str().unwrap().to_string())
}

fn expected_hash(commands: usize) -> String {
    let mut engine = Engine::new();
    engine.set_invariant_checks(false);
    let mut stamp = Stamp::default();
    for command in Generator::commands(SEED, ACCOUNTS, WorkloadMix::everything(), commands) {
        let _ = engine.apply(&stamp.next(command));
    }
    engine.state_hash().iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes the first bytes of a record (a header promising 200 bytes, then 40 of them) right after
/// the last record of the newest segment.
fn tear_tail(journal: &Path) {
    let mut segments: Vec<_> = std::fs::read_dir(journal)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    segments.sort();
    let last = segments.last().expect("a segment");
    let first_seq: u64 = last.file_stem().unwrap().to_str().unwrap().trim_start_matches("journal-").parse().unwrap();
    let mut end = SEGMENT_HEADER_LEN;
    let mut reader = JournalReader::open(journal).unwrap();
    reader.for_each(first_seq, |_, payload| end += FRAME_HEADER_LEN + payload.len()).unwrap();
    let mut torn = vec![0xA5u8; 56];
    torn[4..8].copy_from_slice(&200u32.to_le_bytes());
    let file = std::fs::OpenOptions::new().write(true).open(last).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, &torn, end as u64).unwrap();
    file.sync_all().unwrap();
}

#[test]
fn a_killed_writer_loses_no_acknowledged_command() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("venue");

    let mut child = load(&data_dir, 1).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("start load");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = 0u64;
    while acked < 8_000 {
        let line = lines.next().expect("load ended early").unwrap();
        acked = line.strip_prefix("acked ").expect("an ack line").parse().unwrap();
    }
    child.kill().expect("SIGKILL the writer");
    // Acks already written before the kill still count.
    for line in lines.map_while(Result::ok) {
        if let Some(seq) = line.strip_prefix("acked ") {
            acked = seq.parse().unwrap();
        }
    }
    child.wait().unwrap();
    eprintln!("killed after {acked} acknowledged commands");
    assert!((acked as usize) < TOTAL, "the writer was killed mid-burst (acked {acked} of {TOTAL})");

    // Every acknowledged command survived, and the state is exactly that of its prefix.
    let (last_seq, hash) = replay(&data_dir, false);
    assert!(last_seq >= acked, "journal ends at {last_seq} but {acked} were acknowledged");
    assert_eq!(hash, expected_hash(last_seq as usize), "recovered state differs from the generated prefix");
    assert_eq!(replay(&data_dir, true), (last_seq, hash), "genesis and snapshot replays disagree");

    // Power loss could also leave half a record behind: write one after the last record.
    tear_tail(&data_dir.join("journal"));
    assert_eq!(replay(&data_dir, false).0, last_seq, "a torn tail must not be applied");

    // The restarted writer cuts the torn record, continues, and ends exactly where an
    // uninterrupted run ends.
    let output = load(&data_dir, 0).output().expect("restart load");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "restart failed: {stderr}");
    assert!(stderr.contains("cut a torn record"), "the torn tail was not reported: {stderr}");
    let summary = String::from_utf8_lossy(&output.stdout).lines().last().unwrap_or_default().to_string();
    assert_eq!(json_field(&summary, "lastSeq").as_u64(), Some(TOTAL as u64));
    let final_hash = json_field(&summary, "stateHash").as_str().unwrap().to_string();
    assert_eq!(final_hash, expected_hash(TOTAL));
    assert_eq!(replay(&data_dir, true), (TOTAL as u64, final_hash.clone()));
    assert_eq!(replay(&data_dir, false), (TOTAL as u64, final_hash));
}
