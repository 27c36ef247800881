#include "seshook/sinks/sink.hpp"

#include <fmt/format.h>

#include <exception>
#include <stdexcept>
#include <utility>

namespace seshook {
namespace {

// Returns the message of the exception being handled, whatever its type.
std::string current_exception_message() {
    try {
        throw;
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "unknown exception";
    }
}

}  // namespace

sink::sink(std::string type, std::string name, std::vector<std::string> events)
    : type_(std::move(type)),
      name_(std::move(name)),
      events_(std::make_move_iterator(events.begin()), std::make_move_iterator(events.end())),
      errors_("sink:" + name_) {}

bool sink::wants(const record& r) const {
    return events_.empty() || events_.contains(r.event.event);
}

void sink::open() {
    try {
        do_open();
    } catch (const std::exception& e) {
        throw std::runtime_error(fmt::format("sink '{}': {}", name_, e.what()));
    }
}

delivery_outcome sink::consume(const record& r, std::stop_token stop) {
    delivery_outcome outcome = delivery_outcome::failed;
    try {
        outcome = do_consume(r, std::move(stop));
    } catch (...) {
        report_error(
            fmt::format("cannot take record {}: {}", r.event.id, current_exception_message()));
    }

    switch (outcome) {
        case delivery_outcome::delivered:
            counters_.delivered.fetch_add(1, std::memory_order_relaxed);
            break;
        case delivery_outcome::dead_lettered:
            counters_.dead_lettered.fetch_add(1, std::memory_order_relaxed);
            break;
        case delivery_outcome::failed:
            counters_.failed.fetch_add(1, std::memory_order_relaxed);
            break;
        case delivery_outcome::interrupted:
            break;
    }
    return outcome;
}

bool sink::flush(bool sync) noexcept {
    try {
        do_flush(sync);
        return true;
    } catch (...) {
        report_error(fmt::format("cannot flush: {}", current_exception_message()));
        return false;
    }
}

void sink::reopen() noexcept {
    try {
        do_reopen();
    } catch (...) {
        report_error(fmt::format("cannot reopen: {}", current_exception_message()));
    }
}

void sink::close() noexcept {
    try {
        do_close();
    } catch (...) {
        report_error(fmt::format("cannot close: {}", current_exception_message()));
    }
}

}  // namespace seshook
