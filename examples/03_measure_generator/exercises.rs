//! The chapter's exercises. They use the example's imports (`super::*`).

use super::*;

// ANCHOR: exercise_sample_size
pub fn sample_size(fidelity: &Fidelity) -> Result<()> {
    step("exercise_sample_size");
    // The first `k` cats of every breed from the fidelity step, against as many
    // real ones.
    tolerance(Tolerance::relative(0.02));
    let (_fvs, features) =
        FeatureNet::load(&workspace_root().join(CONFIG.features), Device::Cpu)?;
    let per_breed = CONFIG.fidelity_per_breed;
    println!("images  Fréchet distance        real vs real  precision  recall");
    for k in [2, 4, per_breed] {
        let subset: Vec<_> = fidelity
            .samples
            .chunks(per_breed)
            .flat_map(|breed| breed[..k].iter().cloned())
            .collect();
        let q =
            quality::measure(&features, &subset, &QualityOptions::default())?;
        println!(
            "{:>6}  {:<22}  {:>12.2}  {:>9.3}  {:>6.3}",
            q.images,
            format!("{:.2}", q.fd), // with its 95 % interval
            q.fd_real_real.value,
            q.precision.value,
            q.recall.value
        );
    }
    Ok(())
}
// ANCHOR_END: exercise_sample_size
