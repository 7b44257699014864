//! `qingshan hj212 parse|encode|crc`: the command-line contract (docs/hj212.md).

use std::io::Write;
use std::process::{Command, Stdio};

const CORPUS: &str = include_str!("../../hj212/tests/data/hj212_samples.jsonl");

fn packets() -> Vec<String> {
    CORPUS
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["packet"].as_str().unwrap().to_string()
        })
        .collect()
}

fn run(args: &[&str], stdin: &[u8]) -> (i32, Vec<u8>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_qingshan"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut sin = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = sin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn lines(out: &[u8]) -> Vec<serde_json::Value> {
    std::str::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// HJ 212-2017 §6.3 Table 2: the whole corpus as one stream; one JSON line per frame
/// candidate, in stream order; exit 0 even with rejected frames.
#[test]
fn parse_corpus_stream() {
    let stream: String = packets().concat();
    let (code, out, err) = run(&["hj212", "parse"], stream.as_bytes());
    assert_eq!(code, 0, "{err}");
    let strict = lines(&out);
    assert_eq!(strict.len(), 53);
    assert_eq!(strict.iter().filter(|v| v["ok"] == true).count(), 26);
    let (code, out, _) = run(&["hj212", "parse", "--lenient"], stream.as_bytes());
    assert_eq!(code, 0);
    let lenient = lines(&out);
    assert_eq!(lenient.len(), 53);
    assert_eq!(lenient.iter().filter(|v| v["ok"] == true).count(), 45);
    let mut last = -1i64;
    for v in &lenient {
        let off = v["offset"].as_i64().unwrap();
        assert!(off > last);
        last = off;
        if v["ok"] == false {
            assert!(v["error"].is_string() && v["detail"].is_string());
        }
    }
}

/// The accepted-frame JSON: fields, key order of the CP, numbers vs strings, deviations.
#[test]
fn parse_json_shape() {
    let p = packets();
    let (_, out, _) = run(&["hj212", "parse"], p[8].as_bytes());
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with(
        "{\"ok\":true,\"offset\":0,\"qn\":\"20160801085000001\",\"st\":\"32\",\"cn\":\"2051\",\"pw\":\"123456\",\"mn\":\"010000A8900016F000169DC0\",\"flag\":5,\"version\":\"2017\",\"ack\":true,\"pnum\":null,\"pno\":null,\"cp\":[{\"DataTime\":\"20160801084000\"},{\"w00000-Cou\":\"10.5\",\"w00000-Min\":\"16.4\""
    ), "{text}");
    assert!(text.ends_with("\"deviations\":[]}\n"));

    // lenient, 2005 style: null QN and Flag, deviations named
    let (_, out, _) = run(&["hj212", "parse", "--lenient"], p[20].as_bytes());
    let v = &lines(&out)[0];
    assert_eq!(v["qn"], serde_json::Value::Null);
    assert_eq!(v["flag"], serde_json::Value::Null);
    assert_eq!(v["version"], "2005");
    assert_eq!(
        v["deviations"],
        serde_json::json!(["lf_only", "no_qn", "no_flag", "code_2005", "datatime_ms"])
    );
    // rejected
    let (_, out, _) = run(&["hj212", "parse"], p[21].as_bytes());
    let v = &lines(&out)[0];
    assert_eq!(v["ok"], false);
    assert_eq!(v["offset"], 0);
    assert_eq!(v["error"], "crc");
    // split fields
    let (_, out, _) = run(&["hj212", "parse"], p[14].as_bytes());
    let v = &lines(&out)[0];
    assert_eq!((v["pnum"].as_u64(), v["pno"].as_u64()), (Some(2), Some(1)));
}

/// FILE argument; a missing file is an error (non-zero exit).
#[test]
fn parse_file_argument() {
    let dir = std::env::temp_dir().join(format!("qingshan-hj212-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("stream.bin");
    let p = packets();
    std::fs::write(&f, format!("garbage\r\n{}##x{}", p[0], p[6])).unwrap();
    let (code, out, _) = run(&["hj212", "parse", f.to_str().unwrap()], b"");
    assert_eq!(code, 0);
    let v = lines(&out);
    assert_eq!(v.len(), 2);
    assert_eq!(v[0]["offset"], 9);
    assert_eq!(v[1]["cn"], "9014");
    let (code, _, err) = run(&["hj212", "parse", dir.join("nope").to_str().unwrap()], b"");
    assert_ne!(code, 0);
    assert!(err.contains("nope"));
    std::fs::remove_dir_all(&dir).ok();
}

/// `encode` reads what `parse` prints and writes byte-exact frames (Std §6.3 Table 2:
/// byte length, uppercase CRC, CR LF).
#[test]
fn encode_round_trip() {
    let p = packets();
    let std_frames: String = p[..17].concat();
    let (_, json, _) = run(&["hj212", "parse"], std_frames.as_bytes());
    let (code, frames, err) = run(&["hj212", "encode"], &json);
    assert_eq!(code, 0, "{err}");
    assert_eq!(String::from_utf8(frames).unwrap(), std_frames);

    // a hand-written object, key order of the CP kept
    let line = r#"{"qn":"20160801085857223","st":"32","cn":"1062","pw":"100000","mn":"010000A8900016F000169DC0","flag":5,"cp":[{"RtdInterval":"30"}]}"#;
    let (_, frame, _) = run(&["hj212", "encode"], line.as_bytes());
    assert_eq!(frame, p[0].as_bytes());
    let line = r#"{"st":"32","cn":"2011","pw":"1","mn":"M","cp":[{"b-Rtd":"1","a-Rtd":"2"}]}"#;
    let (_, frame, _) = run(&["hj212", "encode"], line.as_bytes());
    assert!(String::from_utf8(frame)
        .unwrap()
        .contains("CP=&&b-Rtd=1,a-Rtd=2&&"));
    // bad input is an error
    let (code, _, err) = run(&["hj212", "encode"], b"{\"st\":\"32\"}\n");
    assert_ne!(code, 0);
    assert!(err.contains("line 1"), "{err}");
}

/// HJ 212-2017 App. A: the check value and the Std example's CRC.
#[test]
fn crc_command() {
    let (code, out, _) = run(&["hj212", "crc", "123456789"], b"");
    assert_eq!(code, 0);
    assert_eq!(out, b"2F80\n");
    let (_, out, _) = run(
        &[
            "hj212",
            "crc",
            "QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&",
        ],
        b"",
    );
    assert_eq!(out, b"1C80\n");
}
