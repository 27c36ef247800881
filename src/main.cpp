// The seshook executable: reads the command line and the config, then runs the daemon.

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <string>

#include "seshook/config/config.hpp"
#include "seshook/daemon/daemon.hpp"
#include "seshook/daemon/replay.hpp"
#include "seshook/http/tls_context.hpp"
#include "seshook/sinks/sink_registry.hpp"

namespace {

constexpr const char* default_config_path = "/etc/seshook/seshook.toml";

// `seshook replay` exits with this on a usage or config mistake, apart from the 1 of a replay
// that ran but could not replay every line.
constexpr int replay_usage_error = 2;

// Runs `seshook replay`: hands the events stored in `input` to the sink `sink_name`.
int run_replay(const std::string& config_path, const std::string& sink_name,
               const std::string& input, const std::string& log_level) {
    try {
        const seshook::config cfg = seshook::load_config(config_path);
        // NOTE: in text format whatever [log] format says: the replay's own report lines on
        // standard error are text.
        seshook::set_up_logging(log_level.empty() ? cfg.log_level : log_level);
        return seshook::replay_events(cfg, sink_name, input, std::cout, std::cerr).exit_code();
    } catch (const seshook::config_error& e) {
        std::cerr << "seshook: " << e.what() << '\n';
    } catch (const seshook::replay_error& e) {
        std::cerr << "seshook " << e.what() << '\n';
    }
    return replay_usage_error;
}

}  // namespace

int main(int argc, char** argv) {
    // Describe the command line.
    CLI::App app{"seshook: receives Tencent Cloud SES event callbacks and hands them to sinks"};
    std::string config_path = default_config_path;
    std::string log_level;
    bool check_only = false;
    app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
    app.add_flag("--check-config", check_only,
                 "validate the configuration (sinks and TLS certificate included) and exit: 0 when "
                 "valid, 1 with "
                 "the error otherwise");
    app.add_option("-l,--log-level", log_level, "override [log] level")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
    app.set_version_flag("-V,--version", std::string("seshook ") + SESHOOK_VERSION);

    // `seshook replay --config FILE --sink NAME INPUT`: re-dispatches stored events, then exits.
    CLI::App* replay = app.add_subcommand(
        "replay",
        "hand the events of a records, rejects or dead-letter file (JSON Lines) to one "
        "configured sink, then exit: 0 when all were replayed, 1 when some were not, "
        "2 on a usage or config error");
    std::string replay_sink;
    std::string replay_input;
    replay->add_option("-c,--config", config_path, "configuration file")->capture_default_str();
    replay->add_option("-s,--sink", replay_sink, "name of the sink to replay into")->required();
    replay->add_option("input", replay_input, "JSON Lines file of stored events")->required();
    replay->add_option("-l,--log-level", log_level, "override [log] level")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help and --version end here with 0; a usage mistake is reported and exits 1 (2
        // for replay, whose 1 means that some events were not replayed).
        const int code = app.exit(e);
        if (code == 0) return EXIT_SUCCESS;
        return replay->parsed() ? replay_usage_error : EXIT_FAILURE;
    }
    if (replay->parsed()) return run_replay(config_path, replay_sink, replay_input, log_level);

    // Read the configuration, build the sinks and load the TLS certificate and key once, so
    // every mistake shows before starting.
    seshook::config cfg;
    try {
        cfg = seshook::load_config(config_path);
        (void)seshook::make_sinks(cfg);
        if (cfg.tls) (void)seshook::make_tls_context(*cfg.tls, cfg.source);
    } catch (const seshook::config_error& e) {
        std::cerr << "seshook: " << e.what() << '\n';
        return EXIT_FAILURE;
    }
    if (check_only) {
        std::cout << "seshook: " << config_path << " is valid\n";
        return EXIT_SUCCESS;
    }

    // Run until told to stop.
    seshook::set_up_logging(log_level.empty() ? cfg.log_level : log_level, cfg.log_output_format);
    spdlog::info("[daemon] seshook {} starting with {}", SESHOOK_VERSION, config_path);
    return seshook::run_daemon(cfg, log_level);
}
