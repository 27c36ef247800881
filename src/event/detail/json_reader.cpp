#include "event/detail/json_reader.hpp"

#include <cstdint>
#include <optional>
#include <unordered_set>
#include <utility>
#include <vector>

#include "event/detail/json_scan.hpp"
#include "event/detail/text.hpp"

namespace seshook::detail {
namespace {

using json = nlohmann::json;

// nlohmann's own exception id for a number that does not fit a double ("1e999").
constexpr int number_overflow_id = 406;

// Builds the JSON value from nlohmann's SAX events and stops at the first duplicate key or at
// the first batch element past the limit, so that such bodies cost no more than reading up to
// the problem. A hand-written builder is used rather than the parser callback of nlohmann,
// whose object handling rescans the parent after every nested object (quadratic on a body
// like "[{},{},{},...]").
class dom_builder final : public nlohmann::json_sax<json> {
public:
    dom_builder(const schema_limits& limits, key_folder fold_event_key)
        : limits_(limits), fold_event_key_(fold_event_key) {}

    bool null() override { return add(nullptr); }
    bool boolean(bool value) override { return add(value); }
    bool number_integer(number_integer_t value) override { return add(value); }
    bool number_unsigned(number_unsigned_t value) override { return add(value); }
    bool number_float(number_float_t value, const string_t& /*text*/) override {
        return add(value);
    }
    bool string(string_t& value) override { return add(std::move(value)); }
    bool binary(binary_t& value) override { return add(json::binary(std::move(value))); }

    bool start_object(std::size_t /*size*/) override {
        json* object = place(json::object());
        if (object == nullptr) return false;
        open_.push_back(object);
        keys_.emplace_back();
        return true;
    }

    bool key(string_t& key) override {
        // NOTE: the innermost open container is an object whenever the parser reports a key.
        const bool event_level = open_.size() == (root_.is_array() ? 2 : 1);
        std::string folded = event_level ? fold_event_key_(key) : key;
        if (!keys_.back().insert(folded).second) {
            const std::optional<std::size_t> element = current_element();
            std::string detail = "key " + quote(folded) + " appears twice in one object";
            if (element) detail = "element " + std::to_string(*element) + ": " + detail;
            rejection_ = schema_rejection{schema_error::duplicate_key, std::move(folded),
                                          std::move(detail), element};
            return false;
        }
        next_member_ = &open_.back()->get_ref<json::object_t&>()[key];
        return true;
    }

    bool end_object() override {
        open_.pop_back();
        keys_.pop_back();
        return true;
    }

    bool start_array(std::size_t /*size*/) override {
        json* array = place(json::array());
        if (array == nullptr) return false;
        open_.push_back(array);
        // Arrays keep an empty entry so that keys_ and open_ stay aligned.
        keys_.emplace_back();
        return true;
    }

    bool end_array() override {
        open_.pop_back();
        keys_.pop_back();
        return true;
    }

    bool parse_error(std::size_t position, const std::string& /*last_token*/,
                     const nlohmann::detail::exception& error) override {
        // The parser's own message quotes the offending text; the detail stays free of it.
        const std::string detail = error.id == number_overflow_id
                                       ? "body holds a number too large to represent"
                                       : "body is not valid JSON (syntax error near byte " +
                                             std::to_string(position) + ")";
        rejection_ = schema_rejection{schema_error::invalid_json, "", detail, std::nullopt};
        return false;
    }

    /// Returns the value read, once parsing succeeded.
    json& root() noexcept { return root_; }

    /// Returns why reading stopped, when the builder stopped it or the parser reported an error.
    std::optional<schema_rejection>& rejection() noexcept { return rejection_; }

private:
    template <typename Value>
    bool add(Value&& value) {
        return place(json(std::forward<Value>(value))) != nullptr;
    }

    // Puts a value where the text is: the root, the next element of the innermost array, or the
    // member whose key was just read. Returns where it lives, or nullptr when the batch limit
    // stops reading.
    json* place(json value) {
        if (open_.empty()) {
            root_ = std::move(value);
            return &root_;
        }
        json& parent = *open_.back();
        if (parent.is_object()) {
            *next_member_ = std::move(value);
            return next_member_;
        }
        if (open_.size() == 1 && ++batch_size_ > limits_.max_batch) {
            rejection_ = schema_rejection{
                schema_error::batch_too_large, "",
                "batch holds more than " + std::to_string(limits_.max_batch) + " events",
                std::nullopt};
            return nullptr;
        }
        // NOTE: pointers to open containers stay valid: an array only grows when its own
        // last element is closed, and members of a std::map never move.
        auto& elements = parent.get_ref<json::array_t&>();
        elements.push_back(std::move(value));
        return &elements.back();
    }

    // The batch element being read, when the body is an array.
    std::optional<std::size_t> current_element() const {
        if (!root_.is_array() || batch_size_ == 0) return std::nullopt;
        return batch_size_ - 1;
    }

    const schema_limits& limits_;
    key_folder fold_event_key_;
    json root_;
    std::vector<json*> open_;                            // open containers, outermost first
    std::vector<std::unordered_set<std::string>> keys_;  // keys read in each open container
    json* next_member_ = nullptr;                        // slot of the member being read
    std::size_t batch_size_ = 0;                         // elements of a top-level array
    std::optional<schema_rejection> rejection_;
};

schema_rejection invalid_json(std::string detail) {
    return {schema_error::invalid_json, "", std::move(detail), std::nullopt};
}

}  // namespace

boost::system::result<json, schema_rejection> read_json(std::string_view body,
                                                        const schema_limits& limits,
                                                        key_folder fold_event_key) {
    // Refuse what a byte scan can tell, cheapest first.
    if (body.empty()) return invalid_json("body is empty");
    if (body.starts_with("\xEF\xBB\xBF")) {
        return invalid_json("body starts with a UTF-8 byte order mark (BOM); send JSON without it");
    }
    if (const auto bad = find_invalid_utf8(body)) {
        return invalid_json("body is not valid UTF-8 (at byte " + std::to_string(*bad) + ")");
    }
    // NOTE: JSON allows no raw NUL byte anywhere, and nlohmann's reader takes one for the end of
    // the input: without this check, whatever follows a NUL would go unread yet stay in the
    // event's raw text, and so in the records file.
    if (const auto nul = body.find('\0'); nul != std::string_view::npos) {
        return invalid_json("body holds a NUL byte (at byte " + std::to_string(nul) + ")");
    }
    if (nests_deeper_than(body, limits.max_depth)) {
        return schema_rejection{
            schema_error::too_deep, "",
            "body nests deeper than " + std::to_string(limits.max_depth) + " levels", std::nullopt};
    }

    // Parse; nlohmann may still throw (memory exhaustion, or an exception it raises outside
    // its error callback), and nothing may escape to the caller.
    dom_builder builder(limits, fold_event_key);
    bool parsed = false;
    try {
        parsed = json::sax_parse(body.begin(), body.end(), &builder);
    } catch (const std::exception&) {
        parsed = false;
    }
    if (!parsed) {
        if (builder.rejection())
            return {boost::system::in_place_error, std::move(*builder.rejection())};
        return invalid_json("body is not valid JSON");
    }
    return {boost::system::in_place_value, std::move(builder.root())};
}

}  // namespace seshook::detail
