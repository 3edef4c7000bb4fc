//! `tinycats classify IMAGE... --model PATH_OR_REPO [--top-k K]`: the breed classifier on
//! ONNX Runtime.
use std::path::PathBuf;

use clap::Args;
use tinycats_runtime::preprocess::open_image;
use tinycats_runtime::repo::CLASSIFIER_ONNX;
use tinycats_runtime::{Classifier, ModelRepo, SessionOptions};

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// Images to classify (EXIF orientation is applied).
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// A `.onnx` file, a classifier folder with `model.onnx`, a model-repository folder
    /// (`classifier/model.onnx` inside), or a Hugging Face repo id `OWNER/NAME[@REVISION]`
    /// found in the local cache.
    #[arg(long, default_value = "assets")]
    model: String,
    /// How many breeds to list per image.
    #[arg(long, default_value_t = 3)]
    top_k: usize,
    /// Download the repository from the Hugging Face Hub if it is not cached
    /// (needs a build with `tinycats-runtime/download`).
    #[arg(long)]
    download: bool,
    /// ONNX Runtime intra-op threads (0 = one per physical core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

/// A `.onnx` file as given, a classifier folder's `model.onnx`, or `classifier/model.onnx`
/// of a model repository (a folder or a Hugging Face repo id); `flag` is the option that
/// named it, for the message when it holds another kind of model.
pub fn model_path(spec: &str, download: bool, flag: &str) -> anyhow::Result<PathBuf> {
    if let Some(graph) = crate::preflight::classifier_graph(spec, flag)? {
        return Ok(graph);
    }
    Ok(ModelRepo::resolve(spec, download)?.file(CLASSIFIER_ONNX)?)
}

pub fn run(args: ClassifyArgs) -> anyhow::Result<()> {
    let model = model_path(&args.model, args.download, "--model")?;
    let options = SessionOptions {
        intra_threads: args.threads,
        ..Default::default()
    };
    let mut classifier = Classifier::load_with(&model, options)?;
    for path in &args.images {
        let image = open_image(path)?;
        let ranked = classifier.classify(&image, args.top_k)?;
        let list: Vec<String> = ranked
            .iter()
            .map(|p| format!("{} {:.1}%", p.name, 100.0 * p.probability))
            .collect();
        println!("{}: {}", path.display(), list.join(", "));
    }
    Ok(())
}
