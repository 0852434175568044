//! A corpus of broken scenario files (`tests/broken-scenarios/`), one named test each:
//! loading must fail with exactly the error on the file's `# expect:` line, naming the
//! file, line, column and key path.

use std::path::Path;

use libtest_mimic::{Arguments, Failed, Trial};

fn check(root: &Path, relative: &Path) -> Result<(), Failed> {
    let text = std::fs::read_to_string(root.join(relative))?;
    let expected = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("# expect: "))
        .ok_or("the first line must be `# expect: <error>`")?;
    // Loaded by the relative path, as a user types it from the repository root.
    let previous = std::env::current_dir()?;
    std::env::set_current_dir(root)?;
    let result = irsa_lab::scenario::load(relative);
    std::env::set_current_dir(previous)?;
    match result {
        Ok(_) => Err(format!(
            "{}: loaded, but must fail with: {expected}",
            relative.display()
        )
        .into()),
        Err(errors) if errors.to_string() == expected => Ok(()),
        Err(errors) => Err(format!("expected: {expected}\n    seen: {errors}").into()),
    }
}

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(root.join("tests/broken-scenarios"))
        .expect("tests/broken-scenarios exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let trials: Vec<Trial> = files
        .into_iter()
        .map(|path| {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            let relative =
                Path::new("tests/broken-scenarios").join(path.file_name().unwrap_or_default());
            Trial::test(name, move || check(root, &relative))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
