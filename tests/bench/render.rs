//! In-process benchmarks: one full bundle rendered and checked, and a batch
//! of 1,000 targets. Run with `cargo bench --bench render`; the numbers in
//! the README come from `tests/bench/run.sh`, which also times the process
//! end to end and measures peak RSS.

use std::hint::black_box;
use std::time::{Duration, Instant};

use podiam::artifacts::bundle;
use podiam::cli::targets;
use podiam::input::model::Model;
use podiam::input::params::RawParams;
use podiam::render::templates::Engine;

fn raw(i: usize) -> RawParams {
    RawParams {
        cluster: Some("my-eks-cluster".into()),
        region: Some("us-west-2".into()),
        bucket: Some(vec![format!("team-{i:04}-data")]),
        namespace: Some(format!("team-{i:04}")),
        ..RawParams::default()
    }
}

fn time<T>(iterations: u32, mut f: impl FnMut() -> T) -> Duration {
    let start = Instant::now();
    for _ in 0..iterations {
        black_box(f());
    }
    start.elapsed() / iterations
}

fn main() {
    let engine = Engine::builtin().expect("templates parse");
    let model = Model::from_raw(&raw(1)).expect("valid");
    let all = bundle::in_bundle();
    // Warm up: templates and schemas compile once per process.
    let artifacts = bundle::render_with(engine, &model, &all)
        .expect("renders")
        .len();
    // Each bundle on a new thread: nothing checked by an earlier one is
    // known to it, as for the first bundle of a process.
    let one = time(200, || {
        std::thread::scope(|s| {
            s.spawn(|| bundle::render_with(engine, &model, &all).expect("renders"))
                .join()
                .expect("thread")
        })
    });
    println!(
        "bench: one bundle ({} artifacts) rendered and checked in-process: {:.3} ms",
        artifacts,
        one.as_secs_f64() * 1e3
    );

    let raws: Vec<targets::Raw> = (0..1000)
        .map(|i| {
            (
                Some(format!("t{i:04}")),
                targets::hold(&raw(i)).expect("held"),
            )
        })
        .collect();
    let start = Instant::now();
    let valid = targets::validate(raws, None, |_| {}).expect("valid batch");
    let mut files = 0;
    targets::stream(
        engine,
        &valid,
        &all,
        |b| Ok(targets::files(b).len()),
        |_, n| {
            files += n;
            Ok(())
        },
    )
    .expect("batch renders");
    let batch = start.elapsed();
    println!(
        "bench: batch of 1000 targets ({files} files) validated, rendered and checked in-process: {:.1} ms",
        batch.as_secs_f64() * 1e3
    );
}
