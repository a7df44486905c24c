fn main() -> std::process::ExitCode {
    spendrecon::run()
}
