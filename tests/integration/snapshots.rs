//! insta snapshots of every artifact for every fixture, in `snapshots/`.

use crate::fixtures;

#[test]
fn every_artifact_of_every_fixture() {
    for (fixture, raw) in fixtures::all() {
        for rendered in fixtures::render(&raw) {
            let name = format!("{fixture}__{}", rendered.artifact.name);
            insta::with_settings!({
                snapshot_path => "../../snapshots",
                prepend_module_to_snapshot => false,
                description => format!("{fixture}: {}", rendered.artifact.path),
                omit_expression => true,
            }, {
                insta::assert_snapshot!(name, rendered.text);
            });
        }
    }
}

#[test]
fn long_bucket_role_name_is_shortened_within_iam_limits() {
    let (_, raw) = fixtures::all()
        .into_iter()
        .find(|(n, _)| *n == "bucket-63-chars")
        .expect("fixture");
    assert_eq!(raw.bucket.as_ref().map(|b| b[0].len()), Some(63));
    let model = podiam::input::model::Model::from_raw(&raw).expect("valid");
    assert!(
        model.role_name.as_str().len() <= 64,
        "{}",
        model.role_name.as_str()
    );
    assert_eq!(
        model.policy_name.as_str(),
        format!("SkyPilotS3Access-{}", model.bucket.as_str())
    );
    assert!(
        model
            .notices
            .iter()
            .any(|n| n.contains("64-character limit")),
        "{:?}",
        model.notices
    );
}
