//! The progress bar: on a terminal's stderr while large inputs are read, never in a data file,
//! never when stderr is a file or a pipe, and silenced by `--quiet`.

use std::io::Write;
use std::path::Path;

use crate::util::{daily_rates, spendrecon};

/// A 10 MB log (over the 8 MiB the bar waits for): the same call, 120,000 times.
fn big_log(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("big.csv");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(w, "ts,provider,model,prompt_tokens,completion_tokens").unwrap();
    for i in 0..120_000 {
        writeln!(
            w,
            "2026-04-01T10:{:02}:{:02}Z,openrouter,acme/big-model-with-a-long-name,{},{}",
            i / 60 % 60,
            i % 60,
            1000 + i % 7,
            100 + i % 3
        )
        .unwrap();
    }
    path
}

#[test]
fn no_bar_when_stderr_is_not_a_terminal_and_the_data_is_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let log = big_log(dir.path());
    assert!(std::fs::metadata(&log).unwrap().len() > 8 << 20);
    let run = |quiet: bool| {
        let out = tempfile::tempdir().unwrap();
        let mut c = spendrecon();
        c.arg("daily")
            .arg("--logs")
            .arg(&log)
            .arg("--rates")
            .arg(daily_rates());
        c.arg("--out").arg(out.path());
        if quiet {
            c.arg("-q");
        }
        let o = c.output().unwrap();
        (o, std::fs::read(out.path().join("daily.csv")).unwrap())
    };
    let (loud, daily) = run(false);
    let (quiet, daily_q) = run(true);
    let stderr = String::from_utf8(loud.stderr).unwrap();
    assert!(stderr.contains("120000 rows read"), "{stderr}");
    assert!(
        !stderr.contains("eta") && !stderr.contains('\r'),
        "{stderr}"
    );
    assert!(quiet.stderr.is_empty());
    assert_eq!(daily, daily_q);
}

/// Under a pseudo-terminal (`script` from util-linux) the bar is drawn on stderr.
#[test]
fn a_bar_on_a_terminal_unless_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let log = big_log(dir.path());
    let bin = assert_cmd::cargo::cargo_bin("spendrecon");
    let run = |quiet: &str| {
        let cmd = format!(
            "{} daily {quiet} --logs {} --rates {} --out {}",
            bin.display(),
            log.display(),
            daily_rates().display(),
            dir.path().join("out").display()
        );
        let o = std::process::Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .output()
            .expect("`script` (util-linux) runs the command under a terminal");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let shown = run("");
    assert!(shown.contains("MiB") && shown.contains("eta"), "{shown}");
    let silent = run("-q");
    assert!(!silent.contains("eta"), "{silent}");
    // The data file has no trace of it.
    let daily = std::fs::read_to_string(dir.path().join("out/daily.csv")).unwrap();
    assert!(daily.starts_with("day,provider,model,") && !daily.contains("eta"));
}
