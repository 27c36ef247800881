#pragma once

#include <stdexcept>
#include <string>

namespace seshook {

/// A mistake in the configuration; the message names the file and the key, e.g.
/// "config/seshook.toml: sinks[1].max_bytes: must be a positive integer".
class config_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace seshook
