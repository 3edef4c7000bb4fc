//! The `metadata_props` keys of the exported graphs: everything an inference caller needs,
//! so nothing (image size, normalisation, class names, time convention) is hard-coded there.

use tinycats_core::config::{ClassifierConfig, DitConfig, Provenance};

/// `"tinydit"` or `"classifier"`.
pub const MODEL_TYPE: &str = "model_type";
/// JSON array of the class names, index order.
pub const CLASS_NAMES: &str = "class_names";
pub const NUM_CLASSES: &str = "num_classes";
/// Generator only: the breed index meaning "no breed" (unconditional), `= num_classes`.
pub const NULL_CLASS: &str = "null_class";
/// Side of the square input image in pixels.
pub const IMAGE_SIZE: &str = "image_size";
pub const IN_CHANNELS: &str = "in_channels";
/// JSON arrays: `input = (pixel/255 − mean) / std` per channel.
pub const MEAN: &str = "mean";
pub const STD: &str = "std";
/// Generator only: how `timestep` and the output relate to noise and data.
pub const TIME_CONVENTION: &str = "time_convention";
/// Generator only: what the network predicts (`v` or `x`); the graph outputs velocity either way.
pub const PREDICTION: &str = "prediction";
pub const PRESET: &str = "preset";
pub const PROVENANCE_STEPS: &str = "provenance.steps";
pub const PROVENANCE_GIT_REVISION: &str = "provenance.git_revision";
pub const PROVENANCE_DATE: &str = "provenance.date";
pub const PROVENANCE_COMMAND: &str = "provenance.command";
/// The full `config.json` the graph was exported from.
pub const CONFIG: &str = "config";
/// `none`, or the int8 scheme applied by [`crate::quantize()`].
pub const QUANTIZATION: &str = "quantization";

/// The flow-matching convention of the generator graph, stored verbatim.
pub const TIME_CONVENTION_VALUE: &str = "flow matching: t in [0,1], t=0 noise, t=1 data; \
x_t = (1-t)*noise + t*data; output velocity = data - noise; sample by integrating \
dx/dt = velocity from t=0 to t=1; guidance is applied by the caller, not in the graph";

type Props = Vec<(String, String)>;

pub(crate) fn dit(cfg: &DitConfig, config_json: &str) -> Props {
    let mut p = common(
        "tinydit",
        &cfg.class_names,
        cfg.input_size,
        cfg.in_channels,
        &cfg.mean,
        &cfg.std,
        &cfg.preset,
        cfg.provenance.as_ref(),
        config_json,
    );
    p.push((NULL_CLASS.into(), cfg.num_classes.to_string()));
    p.push((TIME_CONVENTION.into(), TIME_CONVENTION_VALUE.into()));
    p.push((PREDICTION.into(), cfg.prediction.as_str().into()));
    p
}

pub(crate) fn classifier(cfg: &ClassifierConfig, config_json: &str) -> Props {
    common(
        "classifier",
        &cfg.class_names,
        cfg.image_size,
        cfg.in_channels,
        &cfg.mean,
        &cfg.std,
        &cfg.preset,
        cfg.provenance.as_ref(),
        config_json,
    )
}

#[allow(clippy::too_many_arguments)]
fn common(
    model_type: &str,
    class_names: &[String],
    image_size: i64,
    in_channels: i64,
    mean: &[f64],
    std: &[f64],
    preset: &str,
    provenance: Option<&Provenance>,
    config_json: &str,
) -> Props {
    let mut p: Props = vec![
        (MODEL_TYPE.into(), model_type.into()),
        (CLASS_NAMES.into(), json(class_names)),
        (NUM_CLASSES.into(), class_names.len().to_string()),
        (IMAGE_SIZE.into(), image_size.to_string()),
        (IN_CHANNELS.into(), in_channels.to_string()),
        (MEAN.into(), json(mean)),
        (STD.into(), json(std)),
        (PRESET.into(), preset.into()),
        (CONFIG.into(), config_json.into()),
        (QUANTIZATION.into(), "none".into()),
    ];
    if let Some(pv) = provenance {
        p.push((PROVENANCE_STEPS.into(), pv.steps.to_string()));
        p.push((PROVENANCE_GIT_REVISION.into(), pv.git_revision.clone()));
        p.push((PROVENANCE_DATE.into(), pv.date.clone()));
        p.push((PROVENANCE_COMMAND.into(), pv.command.clone()));
    }
    p
}

fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serialises")
}
