#pragma once

#include <atomic>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "seshook/sinks/sink.hpp"

namespace seshook::testing {

/// A sink whose consume throws: on every call, or only on the Nth (counted from 1). It can also
/// refuse to open. Thread-safe.
class failing_sink : public sink {
public:
    /// Fails every consume when `fail_on` is 0, otherwise only the `fail_on`th one.
    explicit failing_sink(std::string name = "failing", std::size_t fail_on = 0,
                          std::vector<std::string> events = {})
        : sink("failing", std::move(name), std::move(events)), fail_on_(fail_on) {}

    /// Makes open() throw.
    void fail_open() { fail_open_ = true; }

    /// Returns how many times consume was called.
    std::size_t calls() const { return calls_.load(); }

protected:
    void do_open() override {
        if (fail_open_) throw std::runtime_error("failing_sink: cannot open on purpose");
    }

    delivery_outcome do_consume(const record& /*r*/, std::stop_token /*stop*/) override {
        const std::size_t call = ++calls_;
        if (fail_on_ == 0 || call == fail_on_) {
            throw std::runtime_error("failing_sink: fails on purpose");
        }
        return delivery_outcome::delivered;
    }

private:
    std::size_t fail_on_;
    std::atomic<bool> fail_open_{false};
    std::atomic<std::size_t> calls_{0};
};

}  // namespace seshook::testing
