//! Tests of reading parameters: precedence, and the batch file read in
//! pieces (cut, or a line at a time) against the whole reading.

use super::*;

#[test]
fn higher_precedence_wins_and_gaps_fill_from_below() {
    let flags = RawParams {
        bucket: Some(vec!["flag".into()]),
        ..RawParams::default()
    };
    let file = RawParams {
        bucket: Some(vec!["file".into()]),
        region: Some("us-west-2".into()),
        ..RawParams::default()
    };
    let merged = flags.or(file);
    assert_eq!(merged.bucket, Some(vec!["flag".to_owned()]));
    assert_eq!(merged.region.as_deref(), Some("us-west-2"));
    assert_eq!(merged.cluster, None);
}

/// The same file read target by target and whole: the same result;
/// a file the whole reading refuses is never read target by target (its
/// errors come from the whole reading); and the plain forms really are
/// read target by target.
#[test]
fn a_batch_read_target_by_target_reads_as_it_does_whole() {
    let head = "defaults:\n  cluster: c\n  region: us-west-2\n";
    let cut_forms = [
        format!(
            "# batch\n{head}targets:\n  - name: a\n    bucket: b-1\n\n  # two\n  - name: b\n    bucket:\n      - b-2\n      - b-3\n    prefix: [x/, y/]\n"
        ),
        format!("{head}targets:\n- name: a\n  bucket: b-1\n- name: b\n  bucket: b-2\n"),
        format!("{head}targets:\n  - name: a\n    bucket: >-\n      b-1\n  - name: b\n"),
        format!("{head}targets:  \r\n  - name: a\r\n    bucket: b-1\r\n  -\n    name: b\n"),
        format!("targets:\n  - name: a\n    bucket: b-1\n{head}"),
        format!(
            "{head}targets:\n  - name: a\n  - {{name: b, bucket: b-2}}\n  - name: c\n    account_id: \"012345678901\"\n"
        ),
    ];
    let others = [
        format!("{head}targets:\n  - name: a\n    bucket: b-1\n  - name: b\n    account_id: 012345678901\n"),
        format!("{head}targets:\n  - name: a\n    buckets: b-1\n  - name: b\n    bucket: 5\n  - name: c\n    colour: red\n"),
        "defaults:\n  colour: red\ntargets:\n  - name: a\n    bucket: b-1\n".to_owned(),
        format!("{head}targets:\n  - name: a\n    bucket: b-1\nextra: 1\n"),
        "cluster: c\ntargets:\n  - name: a\n    bucket: b-1\n".to_owned(),
        format!("{head}targets:\n  - name: a\n    bucket: b-1\n    bucket: b-2\n"),
        format!("{head}targets:\n  - name: a\n    bucket: \"b-1\n  - name: b\"\n"),
        "defaults: &d\n  cluster: c\ntargets:\n  - name: a\n    bucket: b\n  - <<: *d\n    name: b\n".to_owned(),
        format!("{head}targets:\n  - name: a\n    bucket: b-1\n  - name: b\n    account_id: 1e3\n"),
        // Found by review: pieces that parse alone but not together.
        "defaults:\n  cluster: \"c\ntargets:\n  - name: a\n    bucket: b\n\"\n".to_owned(),
        "defaults:\n  cluster: 'c\ntargets:\n  - name: a\n    bucket: b\n'\n".to_owned(),
        "defaults: {cluster: c,\ntargets:\n  - name: a\n    bucket: b\nregion: r}\n".to_owned(),
        "? defaults\ntargets:\n  - name: a\n    bucket: b\n: {cluster: c}\n".to_owned(),
        "targets:\u{a0}\n  - name: a\n    bucket: b\n".to_owned(),
        "targets:\u{c}\n  - name: a\n    bucket: b\n".to_owned(),
        "\u{feff}targets:\n  - name: a\n    bucket: b\n".to_owned(),
        "targets:\n  - name: a\n    bucket: 5\n  - name: b\n    bucket: 6\ndefaults:\n  region: 7\n".to_owned(),
        "defaults:\n  tag: {a=b: x}\ntargets:\n  - name: a\n    tag: {c=d: y}\n".to_owned(),
        "x: &a {account_id: \"012345678901\"}\ntargets:\n  - name: t\n    tag: &a {account_id: 12}\ndefaults: *a\n".to_owned(),
        "targets:\n  - name: a\n    bucket: b\ntargets:\n  - name: c\n".to_owned(),
        // A tab after the dash: not an item line the cut knows, so the
        // whole reading decides.
        "targets:\n  - name: a\n    bucket: b\n  -\tname: c\n    bucket: d\n".to_owned(),
    ];
    for text in &cut_forms {
        let whole = ParamsFile::load_whole(text.clone(), "f".into()).map_err(|e| e.to_string());
        assert!(whole.is_ok(), "{text}: {whole:?}");
        assert_eq!(
            load_cut(text).ok_or("not cut"),
            whole.map_err(|_| "refused"),
            "{text}"
        );
    }
    for text in &others {
        let whole = ParamsFile::load_whole(text.clone(), "f".into()).map_err(|e| e.to_string());
        match load_cut(text) {
            None => {}
            Some(file) => assert_eq!(Ok(file), whole, "{text}"),
        }
    }
    // Read a line at a time from a file, each form gives what the whole
    // reading gives, or nothing (and `load` then reads it whole): a form
    // with top-level lines after the list is never read that way.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("batch.yaml");
    let mut streamed = 0;
    for text in cut_forms.iter().chain(&others) {
        std::fs::write(&path, text).expect("write");
        let shown = path.display().to_string();
        let whole = ParamsFile::load_whole(text.clone(), shown).map_err(|e| e.to_string());
        let file = std::fs::File::open(&path).expect("open");
        let tail = batch_text::cut(text).is_some_and(|c| !c.rest.ends_with("targets:\n"));
        match load_streamed(&file) {
            Some(loaded) => {
                streamed += 1;
                assert_eq!(Ok(loaded), whole.clone(), "{text}");
            }
            None => assert!(load_cut(text).is_none() || tail, "{text}"),
        }
        let loaded = ParamsFile::load(&path).map_err(|e| e.to_string());
        assert_eq!(loaded, whole, "{text}");
    }
    assert!(
        streamed >= cut_forms.len() - 1,
        "every cut form but the one with a tail"
    );
}

/// Only a regular file is read a line at a time (and, when that gives up,
/// again from its start); `-`, a folder and a named pipe are left to the
/// whole reading, and the pipe is not even opened (that would wait for a
/// writer).
#[test]
fn only_a_regular_file_is_opened_for_the_line_at_a_time_reading() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("batch.yaml");
    std::fs::write(&file, "targets:\n  - name: a\n").expect("write");
    assert!(regular_file(&file).is_some());
    assert!(regular_file(Path::new("-")).is_none());
    assert!(regular_file(dir.path()).is_none());
    assert!(regular_file(&dir.path().join("absent")).is_none());
    #[cfg(unix)]
    {
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo");
        assert!(regular_file(&fifo).is_none());
    }
}

/// Every target reads back as its own lines say, whichever way the file is
/// read, though each is held as what differs from the first target: a
/// field the first has and a later one lacks stays absent, and one only a
/// later target sets is kept. The expectation is each target's lines parsed
/// on their own, with no holding in between.
#[test]
fn each_target_reads_back_as_its_own_lines_say() {
    let items = [
        "name: a\nbucket: b-1\nregion: us-west-2\nmethod: irsa\n",
        "name: b\nbucket: [b-2, b-3]\nregion: us-west-2\nprefix: x/\n",
        "name: c\nbucket: b-4\nmax_session_duration: 7200\nmultipart_cleanup: false\ntag: {team: c}\n",
        "name: d\nbucket: b-1\nregion: us-west-2\nmethod: irsa\n",
        "name: e\n",
        "name: f\nbindings: [{cluster: x, namespace: n, service_account: s}]\nkms_key: [k-1, k-2]\n",
    ];
    let mut text = String::from("defaults:\n  cluster: c\ntargets:\n");
    let mut expected = Vec::new();
    for item in items {
        for (i, line) in item.lines().enumerate() {
            text.push_str(if i == 0 { "  - " } else { "    " });
            text.push_str(line);
            text.push('\n');
        }
        let mut fields: serde_json::Map<String, serde_json::Value> =
            serde_yaml::from_str(item).expect("item");
        let name = fields.remove("name").expect("name");
        let own: RawParams =
            serde_json::from_value(serde_json::Value::Object(fields)).expect("own");
        expected.push((name.as_str().expect("a name").to_owned(), own));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("batch.yaml");
    std::fs::write(&path, &text).expect("write");
    let file = std::fs::File::open(&path).expect("open");
    let readings = [
        (
            "whole",
            ParamsFile::load_whole(text.clone(), "f".into()).ok(),
        ),
        ("cut", load_cut(&text)),
        ("a line at a time", load_streamed(&file)),
        ("load", ParamsFile::load(&path).ok()),
    ];
    for (how, reading) in readings {
        let Some(ParamsFile::Batch { targets, .. }) = reading else {
            panic!("{how}: not read as a batch");
        };
        let got: Vec<(String, RawParams)> = targets
            .iter()
            .map(|t| (t.name.clone(), t.params.get().expect("read back")))
            .collect();
        assert_eq!(got, expected, "{how}");
    }
}
