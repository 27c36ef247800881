// The seshook executable: reads the command line and the config, then runs the daemon.

#include <cstdlib>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "seshook/config/config.hpp"
#include "seshook/daemon/daemon.hpp"
#include "seshook/sinks/sink_registry.hpp"

namespace {

constexpr const char* default_config_path = "/etc/seshook/seshook.toml";

}  // namespace

int main(int argc, char** argv) {
    // Describe the command line.
    CLI::App app{"seshook: receives Tencent Cloud SES event callbacks and hands them to sinks"};
    std::string config_path = default_config_path;
    std::string log_level;
    bool check_only = false;
    app.add_option("-c,--config", config_path, "configuration file")
        ->capture_default_str();
    app.add_flag("--check-config", check_only,
                 "validate the configuration (sinks included) and exit: 0 when valid, 1 with "
                 "the error otherwise");
    app.add_option("-l,--log-level", log_level, "override [log] level")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
    app.set_version_flag("-V,--version", std::string("seshook ") + SESHOOK_VERSION);
    CLI11_PARSE(app, argc, argv);

    // Read the configuration and build the sinks once, so every mistake shows before starting.
    seshook::config cfg;
    try {
        cfg = seshook::load_config(config_path);
        (void)seshook::make_sinks(cfg);
    } catch (const seshook::config_error& e) {
        std::cerr << "seshook: " << e.what() << '\n';
        return EXIT_FAILURE;
    }
    if (check_only) {
        std::cout << "seshook: " << config_path << " is valid\n";
        return EXIT_SUCCESS;
    }

    // Run until told to stop.
    seshook::set_up_logging(log_level.empty() ? cfg.log_level : log_level);
    spdlog::info("[daemon] seshook {} starting with {}", SESHOOK_VERSION, config_path);
    return seshook::run_daemon(cfg);
}
