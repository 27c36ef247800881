#include "seshook/support/printable.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace seshook {
namespace {

// Returns how many bytes at `text[i]` form a character that some log viewers take as a line
// break or a control: ASCII controls and DEL (1 byte), C1 controls such as NEL U+0085 (2 bytes),
// the line and paragraph separators U+2028 and U+2029 (3 bytes); 0 for anything else.
std::size_t control_length(std::string_view text, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    if (byte(i) < 0x20 || byte(i) == 0x7f) return 1;
    if (byte(i) == 0xc2 && i + 1 < text.size() && byte(i + 1) >= 0x80 && byte(i + 1) <= 0x9f) {
        return 2;
    }
    if (byte(i) == 0xe2 && i + 2 < text.size() && byte(i + 1) == 0x80 &&
        (byte(i + 2) == 0xa8 || byte(i + 2) == 0xa9)) {
        return 3;
    }
    return 0;
}

}  // namespace

std::string printable(std::string_view text, std::size_t max_length) {
    std::string out;
    out.reserve(std::min(text.size(), max_length) + 3);
    for (std::size_t i = 0; i < text.size();) {
        // NOTE: the cut never splits a UTF-8 sequence: half a character would make the whole
        // log file look binary to grep and friends.
        const bool continuation = (static_cast<unsigned char>(text[i]) & 0xc0) == 0x80;
        if (out.size() >= max_length && !continuation) {
            out += "...";
            break;
        }
        const std::size_t control = control_length(text, i);
        if (control == 0) {
            out.push_back(text[i++]);
            continue;
        }
        for (const std::size_t end = i + control; i < end; ++i) {
            out += fmt::format("\\x{:02x}", static_cast<unsigned char>(text[i]));
        }
    }
    return out;
}

std::string masked_path(std::string_view path) {
    // Keep the first segment ("/callback"), hide what follows it.
    // NOTE: a path that ends at its second slash ("/hooks/") hides nothing.
    const std::size_t second_slash = path.find('/', 1);
    if (second_slash != std::string_view::npos && second_slash + 1 < path.size()) {
        return std::string(path.substr(0, second_slash)) + "/***";
    }

    // A single long segment may be the secret itself.
    constexpr std::size_t shown = 4;
    if (path.size() > 12) return std::string(path.substr(0, shown)) + "***";
    return std::string(path);
}

}  // namespace seshook
