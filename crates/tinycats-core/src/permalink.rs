//! A cat as a link. The noise of a seed is the same on every back-end ([`crate::noise`]), so
//! a breed, a seed, the image's place in its batch and the sampler settings name one image.
//! A permalink writes them into the fragment of the book's in-browser page
//! (`try-in-browser.html#breed=Siamese&seed=0&…`), which reads them back and draws that cat;
//! `tinycats sample` prints the link for what it drew, and the page's own JavaScript
//! (`web/src/permalink.js`) reads and writes the same format, checked against the same known
//! answers (`web/test/permalink_kat.json`).
//!
//! The fragment's keys, in this order: `breed`, `seed`, `image` (left out when 0), `steps`,
//! `solver`, `guidance`, `interval` (`FROM,TO`), `shift`, `graph`. Numbers are written in
//! the shortest form that reads back to the same value (`0.3`, `1`), as both Rust and
//! JavaScript print them.

use crate::error::{Invalid, Result};
use crate::sampling::{SampleOptions, Solver};

/// Where the book is published; a permalink is this page plus its fragment.
pub const BOOK_URL: &str = "https://tinycats.github.io/tinycats/";

/// The book's page that draws a permalink's cat.
pub const PAGE: &str = "try-in-browser.html";

/// The largest seed the page takes: its noise generator keys on 32 bits there.
pub const MAX_SEED: u64 = u32::MAX as u64;

/// Everything that names one generated image.
#[derive(Debug, Clone, PartialEq)]
pub struct Permalink {
    /// The breed's class name, as in the generator's `config.json` (`British_Shorthair`).
    pub breed: String,
    /// The seed of the noise.
    pub seed: u64,
    /// The image's place in the batch it was drawn in: image `i` draws noise stream `i`.
    pub image: u64,
    pub options: SampleOptions,
    /// The graph the page samples with: `fp32` or `int8-dynamic` (as the page's menu names
    /// them); the libtorch back-end computes in fp32.
    pub graph: String,
}

impl Permalink {
    /// The link's fragment, without the `#`.
    pub fn fragment(&self) -> String {
        let o = &self.options;
        let mut parts = vec![
            format!("breed={}", self.breed),
            format!("seed={}", self.seed),
        ];
        if self.image != 0 {
            parts.push(format!("image={}", self.image));
        }
        parts.extend([
            format!("steps={}", o.steps),
            format!("solver={}", o.solver),
            format!("guidance={}", o.cfg_scale),
            format!(
                "interval={},{}",
                o.guidance_interval[0], o.guidance_interval[1]
            ),
            format!("shift={}", o.shift),
            format!("graph={}", self.graph),
        ]);
        parts.join("&")
    }

    /// The whole link: `base` (the book's address, ending in `/`), the page and the
    /// fragment.
    pub fn url(&self, base: &str) -> String {
        format!("{base}{PAGE}#{}", self.fragment())
    }

    /// Reads a fragment (with or without its `#`). A key that is missing takes its value
    /// from `defaults`; an unknown key, a repeated one or a value out of range is an error
    /// naming it.
    pub fn parse(fragment: &str, defaults: &Permalink) -> Result<Permalink> {
        let mut out = defaults.clone();
        let mut seen: Vec<&str> = Vec::new();
        let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
        for pair in fragment.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| Invalid::new("permalink", pair, "KEY=VALUE pairs joined by &"))?;
            if seen.contains(&key) {
                return Err(Invalid::new("permalink", key, "each key once"));
            }
            seen.push(key);
            let number = |what: &str| -> Result<f64> {
                value
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| Invalid::new(what, value, "a number"))
            };
            let whole = |what: &str, max: u64| -> Result<u64> {
                value
                    .parse::<u64>()
                    .ok()
                    .filter(|&v| v <= max)
                    .ok_or_else(|| {
                        Invalid::new(what, value, &format!("a whole number from 0 to {max}"))
                    })
            };
            match key {
                "breed" if !value.is_empty() => out.breed = value.to_owned(),
                "seed" => out.seed = whole("seed", MAX_SEED)?,
                "image" => out.image = whole("image", 4095)?,
                "steps" => out.options.steps = whole("steps", 10_000)? as usize,
                "solver" => out.options.solver = value.parse::<Solver>()?,
                "guidance" => out.options.cfg_scale = number("guidance")?,
                "interval" => {
                    let (from, to) = value.split_once(',').ok_or_else(|| {
                        Invalid::new("interval", value, "FROM,TO (0 = noise, 1 = data)")
                    })?;
                    let parse = |v: &str| {
                        v.parse::<f64>().map_err(|_| {
                            Invalid::new("interval", value, "FROM,TO (0 = noise, 1 = data)")
                        })
                    };
                    out.options.guidance_interval = [parse(from)?, parse(to)?];
                }
                "shift" => out.options.shift = number("shift")?,
                "graph" if !value.is_empty() => out.graph = value.to_owned(),
                "breed" | "graph" => return Err(Invalid::new(key, value, "a name")),
                other => {
                    return Err(Invalid::new(
                        "permalink",
                        other,
                        "one of breed, seed, image, steps, solver, guidance, interval, shift, graph",
                    ));
                }
            }
        }
        out.options.validate()?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn siamese() -> Permalink {
        Permalink {
            breed: "Siamese".into(),
            seed: 0,
            image: 0,
            options: SampleOptions::DEFAULT,
            graph: "fp32".into(),
        }
    }

    #[test]
    fn the_default_cat_has_a_short_stable_fragment() {
        assert_eq!(
            siamese().fragment(),
            "breed=Siamese&seed=0&steps=10&solver=heun&guidance=3&interval=0.3,1&shift=1&graph=fp32"
        );
        assert_eq!(
            siamese().url(BOOK_URL),
            format!("{BOOK_URL}try-in-browser.html#{}", siamese().fragment())
        );
    }

    #[test]
    fn a_fragment_reads_back_to_the_same_cat() {
        let cat = Permalink {
            breed: "British_Shorthair".into(),
            seed: 4_000_000_000,
            image: 25,
            options: SampleOptions {
                steps: 7,
                shift: 2.5,
                solver: Solver::Euler,
                cfg_scale: 0.1 + 0.2, // not exactly 0.3: the shortest form still reads back
                guidance_interval: [0.0, 0.7],
            },
            graph: "int8-dynamic".into(),
        };
        let fragment = cat.fragment();
        assert!(fragment.contains("&image=25&"), "{fragment}");
        assert_eq!(Permalink::parse(&fragment, &siamese()).unwrap(), cat);
        assert_eq!(
            Permalink::parse(&format!("#{fragment}"), &siamese()).unwrap(),
            cat
        );
    }

    #[test]
    fn missing_keys_take_the_defaults() {
        let cat = Permalink::parse("breed=Bombay&seed=7", &siamese()).unwrap();
        assert_eq!((cat.breed.as_str(), cat.seed), ("Bombay", 7));
        assert_eq!(cat.options, SampleOptions::DEFAULT);
        assert_eq!(Permalink::parse("", &siamese()).unwrap(), siamese());
    }

    #[test]
    fn bad_fragments_name_the_key_and_the_value() {
        for (fragment, names) in [
            ("seed=-1", "seed"),
            ("seed=4294967296", "4294967296"),
            ("steps=0", "steps"),
            ("solver=rk4", "rk4"),
            ("guidance=abc", "abc"),
            ("interval=0.8,0.2", "guidance_interval"),
            ("interval=0.3", "interval"),
            ("colour=red", "colour"),
            ("seed=1&seed=2", "seed"),
            ("seed", "KEY=VALUE"),
            ("breed=", "breed"),
        ] {
            let err = Permalink::parse(fragment, &siamese())
                .unwrap_err()
                .to_string();
            assert!(err.contains(names), "{fragment}: {err}");
        }
    }

    /// The known answers the page's JavaScript is tested against: each fragment and the
    /// state it reads to, with the defaults of its first case.
    #[test]
    fn the_pages_known_answers_are_this_modules() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../web/test/permalink_kat.json"
        );
        let text = std::fs::read_to_string(path).expect("web/test/permalink_kat.json");
        let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        assert!(cases.len() >= 3);
        for case in cases {
            let state = &case["state"];
            let cat = Permalink {
                breed: state["breed"].as_str().unwrap().into(),
                seed: state["seed"].as_u64().unwrap(),
                image: state["image"].as_u64().unwrap(),
                options: serde_json::from_value(state["options"].clone()).unwrap(),
                graph: state["graph"].as_str().unwrap().into(),
            };
            assert_eq!(cat.fragment(), case["fragment"].as_str().unwrap());
            assert_eq!(
                Permalink::parse(case["fragment"].as_str().unwrap(), &siamese()).unwrap(),
                cat
            );
        }
    }
}
