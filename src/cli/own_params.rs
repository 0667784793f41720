//! A bundle's own parameters: `podiam check DIR` with no `--params` reads
//! `DIR/params.yaml`: a bundle's, or a batch's (every target's name and
//! parameters, at the top of its output directory). A batch written before
//! podiam wrote that file is read from the `params.yaml` of each target
//! folder below it.

use std::path::Path;

use crate::artifacts::artifact;
use crate::cli::batch_index;
use crate::error::Error;
use crate::input::params::{ParamsFile, RawParams, Target};
use crate::output::staging;
use crate::render::templates::TEMPLATES;

/// What `dir` holds: its own `params.yaml` (one bundle's, or a batch's), a
/// batch made of every target folder's parameters (in name order; hidden folders and a run's staging
/// folder are not targets), or `None` when neither is there.
pub fn find(dir: &Path) -> Result<Option<ParamsFile>, Error> {
    let own = dir.join(artifact::PARAMS_PATH);
    if own.is_file() {
        return ParamsFile::load(&own).map(Some);
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(None);
    };
    let mut folders: Vec<(String, std::path::PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
        .filter(|(name, path)| {
            !name.starts_with('.')
                && !staging::is_staging(name)
                && path.is_dir()
                && path.join(artifact::PARAMS_PATH).is_file()
        })
        .collect();
    if folders.is_empty() {
        return Ok(None);
    }
    folders.sort();
    let mut holder = crate::input::held::Holder::default();
    let targets = folders
        .into_iter()
        .map(|(name, path)| {
            let params = load_single(&path.join(artifact::PARAMS_PATH))?;
            Ok(Target {
                name,
                params: crate::cli::targets::hold_in(&mut holder, &params)?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(Some(ParamsFile::Batch {
        defaults: Default::default(),
        targets,
    }))
}

/// Loads a bundle's `params.yaml`, which must hold one set of parameters.
fn load_single(path: &Path) -> Result<RawParams, Error> {
    match ParamsFile::load(path)? {
        ParamsFile::Single(params) => Ok(params),
        ParamsFile::Batch { .. } => Err(Error::ParamsParse {
            path: path.display().to_string(),
            message: "a bundle's params.yaml holds one set of parameters, not `targets:`; give the batch params file with --params".to_owned(),
        }),
    }
}

/// Whether `path` is a `params.yaml` podiam wrote (a bundle's or a batch's,
/// known by the first line of the built-in template or of the batch's header):
/// it then holds every parameter that matters, and regenerating from it
/// ignores the environment, as `check` does.
pub fn written_by_podiam(path: &Path) -> bool {
    use std::io::BufRead;
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let mut first = String::new();
    if std::io::BufReader::new(file).read_line(&mut first).is_err() {
        return false;
    }
    let template = artifact::by_name(artifact::PARAMS).map(|a| a.template);
    let bundle = TEMPLATES
        .iter()
        .find(|(name, _)| Some(*name) == template)
        .map_or("", |(_, text)| text);
    [bundle, batch_index::HEADER]
        .iter()
        .filter_map(|text| text.lines().next())
        .any(|header| first.trim_end() == header)
}
