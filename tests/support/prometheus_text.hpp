#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace seshook::testing {

/// The labels of one series, by name.
using metric_labels = std::map<std::string, std::string>;

/// One sample of a scrape: its metric name, labels and value.
struct metric_sample {
    std::string name;
    metric_labels labels;
    double value = 0;
};

/// A Prometheus text exposition (format 0.0.4) parsed as a scraper would, strictly: a line that
/// is neither blank, a comment, nor a well-formed sample throws, so that a test fails on
/// malformed output rather than passing by accident.
class prometheus_text {
public:
    /// Parses `text`; throws std::runtime_error naming the line it cannot read.
    explicit prometheus_text(std::string_view text) {
        std::size_t number = 0;
        while (!text.empty()) {
            const auto end = text.find('\n');
            const std::string_view line = text.substr(0, end);
            text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
            ++number;
            try {
                read_line(line);
            } catch (const std::exception& e) {
                throw std::runtime_error("line " + std::to_string(number) + " (" +
                                         std::string(line) + "): " + e.what());
            }
        }
    }

    /// Returns the value of the series `name` with exactly `labels`, or nothing.
    std::optional<double> value(std::string_view name, const metric_labels& labels = {}) const {
        for (const auto& s : samples_) {
            if (s.name == name && s.labels == labels) return s.value;
        }
        return std::nullopt;
    }

    /// Returns the value of the series, or 0 when there is none (a counter not counted yet).
    double value_or_zero(std::string_view name, const metric_labels& labels = {}) const {
        return value(name, labels).value_or(0);
    }

    /// Returns every sample of the metric `name`.
    std::vector<metric_sample> series(std::string_view name) const {
        std::vector<metric_sample> found;
        for (const auto& s : samples_) {
            if (s.name == name) found.push_back(s);
        }
        return found;
    }

    /// Returns the sum of every sample of the metric `name`.
    double sum(std::string_view name) const {
        double total = 0;
        for (const auto& s : samples_) {
            if (s.name == name) total += s.value;
        }
        return total;
    }

    /// Returns the type that a `# TYPE` line gives the family `name`, or "" when none does.
    std::string type(std::string_view name) const {
        const auto found = types_.find(std::string(name));
        return found == types_.end() ? std::string() : found->second;
    }

    const std::vector<metric_sample>& samples() const noexcept { return samples_; }

private:
    static bool is_name_char(char c, bool first) {
        const bool letter =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        return letter || (!first && c >= '0' && c <= '9');
    }

    static std::string read_name(std::string_view& rest) {
        std::size_t n = 0;
        while (n < rest.size() && is_name_char(rest[n], n == 0)) ++n;
        if (n == 0) throw std::runtime_error("expected a name");
        std::string name(rest.substr(0, n));
        rest.remove_prefix(n);
        return name;
    }

    static double read_number(std::string_view text) {
        if (text == "+Inf") return std::numeric_limits<double>::infinity();
        if (text == "-Inf") return -std::numeric_limits<double>::infinity();
        if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
        const std::string copy(text);
        std::size_t used = 0;
        const double value = std::stod(copy, &used);
        if (used != copy.size()) throw std::runtime_error("expected a number");
        return value;
    }

    static metric_labels read_labels(std::string_view& rest) {
        metric_labels labels;
        rest.remove_prefix(1);  // '{'
        while (!rest.empty() && rest.front() != '}') {
            std::string label = read_name(rest);
            if (rest.substr(0, 2) != "=\"") throw std::runtime_error("expected =\"");
            rest.remove_prefix(2);
            std::string value;
            for (;;) {
                if (rest.empty()) throw std::runtime_error("unterminated label value");
                const char c = rest.front();
                rest.remove_prefix(1);
                if (c == '"') break;
                if (c != '\\') {
                    value += c;
                    continue;
                }
                if (rest.empty()) throw std::runtime_error("unterminated escape");
                const char escaped = rest.front();
                rest.remove_prefix(1);
                if (escaped == 'n') {
                    value += '\n';
                } else if (escaped == '\\' || escaped == '"') {
                    value += escaped;
                } else {
                    throw std::runtime_error("unknown escape");
                }
            }
            if (!labels.emplace(std::move(label), std::move(value)).second) {
                throw std::runtime_error("a label given twice");
            }
            if (!rest.empty() && rest.front() == ',') rest.remove_prefix(1);
        }
        if (rest.empty()) throw std::runtime_error("unterminated labels");
        rest.remove_prefix(1);  // '}'
        return labels;
    }

    void read_line(std::string_view line) {
        if (line.empty()) return;
        if (line.front() == '#') {
            if (line.substr(0, 7) == "# TYPE ") {
                std::string_view rest = line.substr(7);
                std::string name = read_name(rest);
                if (rest.empty() || rest.front() != ' ')
                    throw std::runtime_error("expected a type");
                types_[name] = std::string(rest.substr(1));
            }
            return;
        }
        metric_sample sample;
        std::string_view rest = line;
        sample.name = read_name(rest);
        if (!rest.empty() && rest.front() == '{') sample.labels = read_labels(rest);
        if (rest.empty() || rest.front() != ' ') throw std::runtime_error("expected a value");
        rest.remove_prefix(1);
        const auto space = rest.find(' ');
        sample.value = read_number(rest.substr(0, space));
        if (space != std::string_view::npos) read_number(rest.substr(space + 1));  // timestamp
        samples_.push_back(std::move(sample));
    }

    std::vector<metric_sample> samples_;
    std::map<std::string, std::string> types_;
};

}  // namespace seshook::testing
