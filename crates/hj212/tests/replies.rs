//! Reply and request builders against the standard's own examples, byte for byte
//! (hj212.md §1.3 worked examples; HJ 212-2017 App. C).

use hj212::commands::{History, Target};
use hj212::reply::{
    data_ack_9014, exe_result_9012, notify_ack_9013, platform_answer, request_answer_9011,
};
use hj212::{decode_all, encode, ExeRtn, Mode, Packet, QnRtn, Version};

const MN: &str = "010000A8900016F000169DC0";
const QN: &str = "20160801085857223";

fn decode_one(frame: &[u8]) -> Packet {
    let mut r = decode_all(Mode::Strict, frame);
    assert_eq!(r.len(), 1);
    r.pop().unwrap().unwrap().packet
}

fn upload() -> Packet {
    decode_one(b"##0218QN=20160801085857223;ST=32;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20160801085857;w01001-Rtd=7.1,w01001-Flag=N;w01018-SampleTime=20160801070000,w01018-Rtd=2.2,w01018-Flag=N,w01018-EFlag=A01&&6E80\r\n")
}

/// HJ 212-2017 §6.5 / App. C: the platform's 9014 data answer echoes QN, ST=91, Flag=4,
/// `CP=&&&&`; CRC 3240.
#[test]
fn answer_9014() {
    let a = data_ack_9014(&upload());
    assert_eq!(
        encode(&a),
        b"##0087QN=20160801085857223;ST=91;CN=9014;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&3240\r\n"
    );
    assert_eq!(platform_answer(&upload()), Some(a));
}

/// HJ 212-2017 §6.1 Table 7: 9011 request answer `QnRtn=1`, CRC 1B00.
#[test]
fn answer_9011() {
    let req = Target::new("32", "123456", MN, Version::V2017)
        .set_rtd_interval(QN, 30)
        .unwrap();
    assert_eq!(
        encode(&request_answer_9011(&req, QnRtn::Ready)),
        b"##0094QN=20160801085857223;ST=91;CN=9011;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&QnRtn=1&&1B00\r\n"
    );
}

/// HJ 212-2017 §6.1 Table 6: 9012 execution result `ExeRtn=1`, CRC 6240.
#[test]
fn answer_9012() {
    let req = Target::new("32", "123456", MN, Version::V2017)
        .set_rtd_interval(QN, 30)
        .unwrap();
    assert_eq!(
        encode(&exe_result_9012(&req, ExeRtn::Success)),
        b"##0095QN=20160801085857223;ST=91;CN=9012;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&ExeRtn=1&&6240\r\n"
    );
}

/// HJ 212-2017 §6.3 Table 2 example, the only framed packet of the Std: 1062 with
/// `RtdInterval=30`, length 0101, CRC 1C80.
#[test]
fn request_1062() {
    let p = Target::new("32", "100000", MN, Version::V2017)
        .set_rtd_interval(QN, 30)
        .unwrap();
    assert_eq!(
        encode(&p),
        b"##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80\r\n"
    );
}

/// HJ 212-2017 App. C (1000 set timeout/retries): `OverTime=5;ReCount=3`, CRC CAC1.
#[test]
fn request_1000() {
    let p = Target::new("32", "123456", MN, Version::V2017)
        .set_timeout_retry(QN, 5, 3)
        .unwrap();
    assert_eq!(
        encode(&p),
        b"##0107QN=20160801085857223;ST=32;CN=1000;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&OverTime=5;ReCount=3&&CAC1\r\n"
    );
}

/// HJ 212-2017 App. C (2011 start real-time uploads): empty CP, CRC 30C0.
#[test]
fn request_2011() {
    let p = Target::new("32", "123456", MN, Version::V2017)
        .start_realtime(QN)
        .unwrap();
    assert_eq!(
        encode(&p),
        b"##0087QN=20160801085857223;ST=32;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&&&30C0\r\n"
    );
}

/// HJ 212-2017 §6.1: notifications (2012) are answered with 9013, echoing QN, empty CP.
#[test]
fn answer_9013() {
    let t = Target::new("32", "123456", MN, Version::V2017);
    let n = t.stop_realtime(QN).unwrap();
    let a = notify_ack_9013(&n);
    assert_eq!(a.cn(), "9013");
    assert_eq!(a.qn(), Some(QN));
    assert_eq!(a.st(), "91");
    assert_eq!(a.flag(), Some(4));
    assert_eq!(a.cp_text(), "");
    assert_eq!(platform_answer(&n), Some(a));
}

/// Every P→F request of Std Table 9 (and 2025's 2062) builds, round-trips through the strict
/// decoder and carries the A bit.
#[test]
fn all_requests_round_trip() {
    let t = Target::new("32", "123456", MN, Version::V2017);
    let ps = vec![
        t.set_timeout_retry(QN, 10, 3).unwrap(),
        t.get_field_time(QN, Some("w01018")).unwrap(),
        t.set_field_time(QN, Some("w01018"), "20160801085857")
            .unwrap(),
        t.get_rtd_interval(QN).unwrap(),
        t.set_rtd_interval(QN, 30).unwrap(),
        t.get_min_interval(QN).unwrap(),
        t.set_min_interval(QN, 10).unwrap(),
        t.set_password(QN, "654321").unwrap(),
        t.start_realtime(QN).unwrap(),
        t.stop_realtime(QN).unwrap(),
        t.start_status(QN).unwrap(),
        t.stop_status(QN).unwrap(),
        t.history(QN, History::Day, "20160801000000", "20160802000000")
            .unwrap(),
        t.history(
            QN,
            History::EquipmentRuntime,
            "20160801000000",
            "20160802000000",
        )
        .unwrap(),
        t.history(QN, History::Minute, "20160801000000", "20160801010000")
            .unwrap(),
        t.history(QN, History::Hour, "20160801000000", "20160802000000")
            .unwrap(),
        t.calibrate(QN, "w01018").unwrap(),
        t.sample_now(QN, "w01018").unwrap(),
        t.clean(QN, "w01018").unwrap(),
        t.comparison_sampling(QN, "w01018").unwrap(),
        t.retain_sample(QN, "w01018").unwrap(),
        t.set_sampling_period(QN, "w01018", "000000", 2).unwrap(),
        t.get_sampling_period(QN, "w01018").unwrap(),
        t.get_sample_output_time(QN, "w01018").unwrap(),
        t.get_instrument_sn(QN, "w01018").unwrap(),
        t.get_field_info(
            QN,
            "w01018",
            "i11001",
            Some(("20160801000000", "20160802000000")),
        )
        .unwrap(),
        t.set_field_param(QN, "w01018", "i13004", "10").unwrap(),
    ];
    for p in ps {
        assert!(p.ack_requested(), "{p}");
        assert!(p.deviations().is_empty(), "{p}: {:?}", p.deviations());
        assert!(p.command().is_some(), "{p}");
        assert_eq!(decode_one(&encode(&p)), p);
    }
    let h = t
        .history(QN, History::Hour, "20160801000000", "20160802000000")
        .unwrap();
    assert_eq!(
        h.cp_text(),
        "BeginTime=20160801000000,EndTime=20160802000000"
    );
}

/// HJ 212-2025 (hj212.md §1.14): requests carry version 2 (Flag=9); answers keep the version.
#[test]
fn v2025_requests() {
    let t = Target::new("32", "123456", MN, Version::V2025);
    let p = t
        .history(
            QN,
            History::StandardCheck,
            "20240601080000",
            "20240601080000",
        )
        .unwrap();
    assert_eq!(p.flag(), Some(9));
    assert_eq!(data_ack_9014(&p).flag(), Some(8));
    let hb = hj212::PacketBuilder::new("32", "9015", "123456", MN)
        .qn(QN)
        .flag(9)
        .build()
        .unwrap();
    assert_eq!(decode_one(&encode(&hb)), hb);
    assert_eq!(platform_answer(&hb).unwrap().cn(), "9013");
}
