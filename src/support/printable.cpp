#include "seshook/support/printable.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace seshook {

std::string printable(std::string_view text, std::size_t max_length) {
    std::string out;
    out.reserve(std::min(text.size(), max_length) + 3);
    for (const char c : text) {
        if (out.size() >= max_length) {
            out += "...";
            break;
        }
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
            out += fmt::format("\\x{:02x}", byte);
        } else {
            out.push_back(c);
        }
    }
    return out;
}

}  // namespace seshook
