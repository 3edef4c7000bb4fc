//! Writes a SynthCats contact sheet: 8 samples of each of the 13 classes, one labelled row each.
//!
//! `cargo run -p tinycats-data --release --example contact_sheet -- target/synthcats_sheet.png [size] [seed]`
use tinycats_data::{SynthCats, SynthConfig};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .unwrap_or_else(|| "target/synthcats_sheet.png".into());
    let size: u32 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(64);
    let seed: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(0);
    let synth = SynthCats::new(SynthConfig {
        size,
        seed,
        ..SynthConfig::default()
    })?;
    let sheet = synth.contact_sheet(synth.presets(), 8);
    sheet.save(&out)?;
    println!("wrote {out} ({}x{})", sheet.width(), sheet.height());
    Ok(())
}
