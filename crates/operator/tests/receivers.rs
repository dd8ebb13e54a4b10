//! AlertmanagerConfig receivers beyond webhook/Slack/PagerDuty/email (OpsGenie, VictorOps,
//! Pushover, SNS, Telegram, WeChat, Webex, Discord, MS Teams): each case of
//! tests/fixtures/alertmanagerconfig/receivers.yaml is merged as the Operator merges it and
//! compared with the Operator's expected receiver; every merged file loads in Firewatch's own
//! Alertmanager configuration parser, and those Alertmanager 0.25 knows pass the real
//! `amtool check-config`. Invalid integrations are refused naming the receiver and field.

use std::path::Path;
use std::process::Command;

use firewatch_operator::{AlertmanagerConfig, AssetKind, Assets, merge_alertmanager_configs};
use serde_json::{Value, json};

const TEST: &str =
    "firewatch_operator::receivers::receivers_convert_as_the_operator_and_load_in_both_parsers";

fn fixture() -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/alertmanagerconfig/receivers.yaml");
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(docs.len(), 3, "base, Secrets, cases");
    docs
}

fn assets(secrets: &Value) -> Assets {
    let mut a = Assets::default();
    for o in secrets.as_array().unwrap() {
        let m = &o["metadata"];
        a.insert_object(
            AssetKind::Secret,
            m["namespace"].as_str().unwrap(),
            m["name"].as_str().unwrap(),
            o,
        );
    }
    a
}

fn object(receiver: &Value) -> AlertmanagerConfig {
    let mut r = receiver.clone();
    r["name"] = json!("test");
    serde_json::from_value(json!({
        "metadata": {"name": "myamc", "namespace": "mynamespace"},
        "spec": {"route": {"receiver": "test"}, "receivers": [r]},
    }))
    .unwrap()
}

#[test]
fn receivers_convert_as_the_operator_and_load_in_both_parsers() {
    let docs = fixture();
    let assets = assets(&docs[1]);
    let amtool = testkit::peer_binary(TEST, "amtool");
    let dir = tempfile::tempdir().unwrap();
    let cases = docs[2].as_array().unwrap();
    assert!(cases.len() >= 10);
    for (i, case) in cases.iter().enumerate() {
        let name = case["name"].as_str().unwrap();
        let merged = merge_alertmanager_configs(&docs[0], &[object(&case["receiver"])], &assets);
        assert!(merged.rejected.is_empty(), "{name}: {:?}", merged.rejected);
        let mut want = case["expected"].clone();
        want["name"] = json!("mynamespace/myamc/test");
        assert_eq!(merged.config["receivers"][1], want, "{name}");
        assert_eq!(
            merged.config["route"]["routes"],
            json!([{"receiver": "mynamespace/myamc/test",
                    "matchers": ["namespace=\"mynamespace\""], "continue": true}]),
            "{name}"
        );

        let file = dir.path().join(format!("case{i}.yml"));
        std::fs::write(&file, merged.config.to_string()).unwrap();
        if let Err(e) = alertmanager::config::Config::load_file(&file) {
            panic!("{name}: Firewatch's parser refused the merged file: {e}");
        }
        if case["amtool"] == json!(true)
            && let Some(amtool) = &amtool
        {
            let out = Command::new(amtool)
                .arg("check-config")
                .arg(&file)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && text.contains("SUCCESS"),
                "{name}: amtool:\n{text}"
            );
        }
    }
}

#[test]
fn invalid_integrations_are_refused_by_receiver_and_field() {
    let docs = fixture();
    let assets = assets(&docs[1]);
    for (receiver, want) in [
        (
            json!({"snsConfigs": [{"apiURL": "https://sns.example"}]}),
            "receiver \"test\": snsConfigs[0]: one of topicARN, phoneNumber, targetARN is required",
        ),
        (
            json!({"pushoverConfigs": [{"userKey": {"name": "am-pushover-test-receiver", "key": "userkey"}}]}),
            "receiver \"test\": pushoverConfigs[0]: one of token, tokenFile is required",
        ),
        (
            json!({"victoropsConfigs": [{"routingKey": "k", "customFields": [{"key": "routing_key", "value": "x"}]}]}),
            "receiver \"test\": victoropsConfigs[0]: customFields: custom field routing_key conflicts with a fixed field",
        ),
        (
            json!({"opsgenieConfigs": [{"responders": [{"type": "team"}]}]}),
            "receiver \"test\": opsgenieConfigs[0]: responders[0]: one of id, name, username is required",
        ),
        (
            json!({"telegramConfigs": [{"chatID": 1, "botTken": "x"}]}),
            "receiver \"test\": telegramConfigs[0]: unknown field \"botTken\"",
        ),
        (
            json!({"discordConfigs": [{"apiURL": {"name": "chat", "key": "nope"}}]}),
            "secret \"mynamespace/chat\": key \"nope\": key not found",
        ),
        (
            json!({"rocketchatConfigs": [{}]}),
            "receiver \"test\": rocketchatConfigs is not supported",
        ),
    ] {
        let merged = merge_alertmanager_configs(&docs[0], &[object(&receiver)], &assets);
        let got: Vec<String> = merged.rejected.iter().map(|(_, e)| e.clone()).collect();
        assert_eq!(got, [want], "{receiver}");
        assert_eq!(merged.config, docs[0], "nothing merged for {receiver}");
    }
}
