//! The chapter's measurements: the classifier as a judge, breed fidelity, and
//! quality in the feature network's space. They use the example's imports
//! (`super::*`).

use super::*;

// ANCHOR: judge
/// The bundled classifier, and what it makes of the generation chapter's first
/// cat (the same breed, seed and sampler).
pub fn judge(g: &Loaded) -> Result<Classifier> {
    step("judge");
    let root = workspace_root();
    let repo =
        ModelRepo::resolve(&root.join(CONFIG.repo).to_string_lossy(), false)?;
    let mut judge = Classifier::load(repo.file(CLASSIFIER_ONNX)?)?;
    let x =
        sample_breeds(&g.model, &[g.breed], 1, &CONFIG.sampler, CONFIG.seed)?;
    let one = images::to_rgb8(&x.get(0))?;
    let verdict = judge.classify(&DynamicImage::ImageRgb8(one), 3)?;
    println!("the first {}, as the classifier sees it:", CONFIG.breed);
    for p in &verdict {
        println!("  {:<18} {:>5.1}%", p.name, 100.0 * p.probability);
    }
    Ok(judge)
}
// ANCHOR_END: judge

// ANCHOR: fidelity
pub fn fidelity(g: &mut Loaded, judge: &mut Classifier) -> Result<Fidelity> {
    step("fidelity");
    let started = Instant::now();
    // Every breed from its own seed (`seed + 100 + breed`), judged by the
    // classifier. `breed_fidelity` takes either back-end's generator:
    // libtorch's here.
    let fidelity = breed_fidelity(
        &mut g.model,
        judge,
        CONFIG.fidelity_per_breed,
        &CONFIG.sampler,
        CONFIG.seed + 100,
    )?;
    let report = &fidelity.report;
    println!(
        "{} samples in {:.1} s",
        fidelity.samples.len(),
        started.elapsed().as_secs_f64()
    );
    println!("{}", report.table("breed fidelity"));
    ensure!(
        report.mean_per_breed() >= CONFIG.min_fidelity,
        "breed fidelity {:.3} is below the promised {}",
        report.mean_per_breed(),
        CONFIG.min_fidelity
    );
    Ok(fidelity)
}
// ANCHOR_END: fidelity

// ANCHOR: fidelity_guidance
pub fn fidelity_guidance(g: &mut Loaded, judge: &mut Classifier) -> Result<()> {
    step("fidelity_guidance");
    // The default sampler at other guidance scales: how much of the breed does
    // guidance buy? Fewer samples per breed than above
    // (`guidance_per_breed`), from the same seeds at every scale.
    let (mut mean, mut weakest) = (Vec::new(), Vec::new());
    println!("w     breed fidelity  weakest class");
    for &scale in &CONFIG.fidelity_scales {
        let o = SampleOptions {
            cfg_scale: scale,
            ..CONFIG.sampler
        };
        let f = breed_fidelity(
            &mut g.model,
            judge,
            CONFIG.guidance_per_breed,
            &o,
            CONFIG.seed + 500,
        )?;
        let report = &f.report;
        let (worst, score) = (0..report.class_names.len())
            .map(|i| (i, report.of(i).unwrap_or(0.0)))
            .fold((0, f64::INFINITY), |a, b| if b.1 < a.1 { b } else { a });
        let weakest_class = if score < 1.0 {
            format!("{} {:.0}%", report.class_names[worst], 100.0 * score)
        } else {
            "none below 100%".into()
        };
        println!(
            "{scale:<4}  {:>13.1}%  {weakest_class}",
            100.0 * report.mean_per_breed()
        );
        mean.push(report.mean_per_breed());
        weakest.push(score);
    }
    let chart = figures::fidelity_against_guidance(
        &CONFIG.fidelity_scales,
        &mean,
        &weakest,
        &CONFIG.sampler,
    )?;
    let path = save_png(&chart, out_dir().join("fidelity_guidance.png"))?;
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: fidelity_guidance

// ANCHOR: quality
pub fn quality(fidelity: &Fidelity) -> Result<()> {
    step("quality");
    // The same samples in the SynthCats feature network's space, against real
    // test renders. Features are sums over thousands of pixels: on another
    // CPU they move in the last digits.
    tolerance(Tolerance::relative(0.02));
    let started = Instant::now();
    let (_fvs, features) =
        FeatureNet::load(&workspace_root().join(CONFIG.features), Device::Cpu)?;
    let q = quality::measure(
        &features,
        &fidelity.samples,
        &QualityOptions::default(),
    )?;
    println!(
        "{} generated vs {} real images in {:.1} s",
        q.images,
        q.images,
        started.elapsed().as_secs_f64()
    );
    println!(
        "Fréchet distance  {:.2}  (real vs real: {:.2}, ratio {:.1}×)",
        q.fd, q.fd_real_real, q.fd_ratio
    );
    println!("precision         {:.3}", q.precision);
    println!("recall            {:.3}", q.recall);
    println!("sharpness         {:.3}  (generated / real)", q.sharpness);
    println!(
        "patch seams       {:.3}  (real: {:.3})",
        q.seams, q.seams_real
    );
    Ok(())
}
// ANCHOR_END: quality
