//! Broken configuration files give errors, never panics: every truncation of the full fixture,
//! and byte-level corruptions of it.

use std::path::{Path, PathBuf};

use apim_gateway::config::{Environment, LoadOptions, load};

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    copy_dir(Path::new("../../fixtures/config/full"), &d);
    d
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn options() -> LoadOptions {
    LoadOptions {
        env: None,
        environment: Environment::Map([("AOAI_KEY".to_string(), "k".to_string())].into()),
    }
}

#[test]
fn every_truncation_loads_or_fails_cleanly() {
    let dir = scratch("truncations");
    let original = std::fs::read_to_string(dir.join("apim-emu.yaml")).unwrap();
    let mut failures = 0;
    for (i, _) in original.char_indices().step_by(7) {
        std::fs::write(dir.join("apim-emu.yaml"), &original[..i]).unwrap();
        match load(&dir, &options()) {
            Ok(_) => {}
            Err(e) => {
                failures += 1;
                assert!(!e.diagnostics.is_empty());
                // Each diagnostic names a file.
                assert!(
                    e.diagnostics.iter().all(|d| d.file.is_some()),
                    "{}",
                    e.render()
                );
            }
        }
    }
    assert!(failures > 0, "truncations that cut references must fail");
}

#[test]
fn corrupted_bytes_never_panic() {
    let dir = scratch("corruptions");
    let original = std::fs::read(dir.join("apim-emu.yaml")).unwrap();
    let spec = std::fs::read(dir.join("specs/azure-openai.json")).unwrap();
    // A fixed pseudo-random sequence (xorshift) so failures reproduce.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let noise = [
        b'{', b'}', b'[', b']', b':', b'-', b'&', b'*', b'\'', b'"', b'\t', b'\n', 0xff, b'#',
        b'!', b'|',
    ];
    for round in 0..300 {
        let (file, base) = if round % 3 == 0 {
            ("specs/azure-openai.json", &spec)
        } else {
            ("apim-emu.yaml", &original)
        };
        let mut bytes = base.clone();
        for _ in 0..(1 + next() % 4) {
            let pos = (next() as usize) % bytes.len();
            bytes[pos] = noise[(next() as usize) % noise.len()];
        }
        std::fs::write(dir.join(file), &bytes).unwrap();
        let _ = load(&dir, &options());
        std::fs::write(dir.join(file), base).unwrap();
    }
}
