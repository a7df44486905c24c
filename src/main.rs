fn main() -> std::process::ExitCode {
    spendrecon::cli::run()
}
