use std::process::ExitCode;

fn main() -> ExitCode {
    irsa_lab::cli::main()
}
