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

/// `podiam render ARTIFACT` loads only that artifact's templates, and its
/// context skips the parts none of them names: rendered that way, every
/// artifact of every fixture is the same text (or the same error) as with
/// every template loaded and the whole context computed.
#[test]
fn an_artifact_rendered_alone_gets_every_part_of_the_context_it_uses() {
    use podiam::artifacts::bundle;
    use podiam::render::templates::Engine;
    let whole = Engine::builtin().expect("templates");
    let texts = |r: Result<Vec<podiam::artifacts::artifact::Rendered>, podiam::error::Error>| {
        r.map(|v| v.into_iter().map(|r| r.text).collect::<Vec<_>>())
            .map_err(|e| e.to_string())
    };
    let mut compared = 0;
    for (fixture, raw) in fixtures::all() {
        let model = podiam::input::model::Model::from_raw(&raw).expect("valid");
        for artifact in bundle::for_model(&model) {
            if artifact.name == podiam::artifacts::artifact::MANIFEST {
                continue; // rendered with every template (`ParamArgs::engine_for`)
            }
            let alone = Engine::builtin_for(&[artifact.template]).expect("templates");
            let lazy = texts(bundle::render_with(&alone, &model, &[artifact]));
            assert_eq!(
                lazy,
                texts(bundle::render_with(whole, &model, &[artifact])),
                "{fixture}: {}",
                artifact.name
            );
            compared += usize::from(lazy.is_ok());
        }
    }
    assert!(compared > 100, "{compared}");
}
