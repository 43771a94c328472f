// itemcf and usercf models behind /v1/models/NAME:recommend and :similar, answered as
// `ecps recommend` and `ecps similar` answer (the same functions, the same %.6g digits).
#include <fmt/compile.h>
#include <fmt/format.h>

#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/cf/ids.h"
#include "models/cf/model.h"
#include "models/cf/recommender.h"
#include "serve/instances.h"
#include "serve/served_model.h"

namespace ecps::serve {
namespace {

// `ecps recommend` and `ecps similar` print scores with %.6g; fmt's {:.6g} prints the same
// (tests/serve checks it).
void AppendScore6(double v, std::string* out) {
  fmt::format_to(std::back_inserter(*out), FMT_COMPILE("{:.6g}"), v);
}

class ServedCf final : public ServedModel {
 public:
  std::string kind() const override { return model_.kind; }
  std::string verbs() const override { return "recommend, similar"; }

  static Result<std::unique_ptr<ServedModel>> Load(const std::string& dir_or_file,
                                                    const privacy::EncryptionKey* key) {
    ECPS_ASSIGN_OR_RETURN(models::cf::CfModel m, models::cf::LoadCfModel(dir_or_file, key));
    return std::unique_ptr<ServedModel>(new ServedCf(std::move(m)));
  }

  Reply Handle(const std::string& verb, JsonValue body) const override {
    if (verb == "recommend") return Recommend(body);
    if (verb == "similar") return Similar(body);
    return ErrorReply(
        400, fmt::format("model \"{}\" ({}) answers :recommend and :similar", name(), kind()));
  }

 private:
  explicit ServedCf(models::cf::CfModel m)
      : model_(std::move(m)),
        users_(model_.user_ids),
        items_(model_.item_ids),
        pop_(models::cf::Popularity::From(model_.item_count)) {}

  static constexpr long long kMaxN = 1'000'000;

  // "n" (10) and "fill_popular" (true, as `ecps recommend --fill-popular`) of a :recommend
  // body; InvalidArgument naming the field.
  static Status ListOptions(JsonValue body, std::size_t* n, bool* fill) {
    auto got = IntField(body, "n", 10, 1, kMaxN);
    if (!got.ok()) return got.status();
    *n = static_cast<std::size_t>(*got);
    *fill = true;
    if (auto it = body.find("fill_popular")) {
      if (!it->is_boolean()) return InvalidArgument("\"fill_popular\" must be true or false");
      *fill = it->boolean();
    }
    return Status::Ok();
  }

  // {"history": ["item", ...], "n": N}: an itemcf model's top-n for someone known by their
  // items (models::cf::RecommendFromItemIds); ids the model does not know are listed back
  // under "unknown_history" and skipped; with none known, the popular items.
  Reply RecommendFromHistory(JsonValue history, JsonValue body) const {
    if (!model_.item_based()) {
      return ErrorReply(400, fmt::format("\"history\" needs an itemcf model; \"{}\" is {}: give \"user\"",
                                         name(), kind()));
    }
    if (!history.is_array() || history.empty()) {
      return ErrorReply(400, "\"history\" must be a non-empty array of item ids (strings)");
    }
    std::size_t n = 0;
    bool fill = true;
    if (Status s = ListOptions(body, &n, &fill); !s.ok()) return ErrorReply(400, s.message());
    std::vector<std::string_view> ids, unknown;
    for (JsonValue x : history.elements()) {
      if (!x.is_string()) {
        return ErrorReply(400, fmt::format("\"history\" holds a {}: item ids are strings", x.type_name()));
      }
      ids.push_back(x.str());
    }
    std::vector<models::cf::Scored> top;
    models::cf::ItemScores scores(static_cast<std::uint32_t>(model_.item_ids.size()));
    const bool fallback =
        models::cf::RecommendFromItemIds(model_, items_, pop_, ids, n, fill, &scores, &top, &unknown);
    std::string out = "{";
    if (fallback) out += "\"fallback\": \"popularity\", ";
    if (!unknown.empty()) {
      out += "\"unknown_history\": [";
      for (std::size_t i = 0; i < unknown.size(); ++i) {
        if (i) out += ", ";
        out += JsonString(unknown[i]);
      }
      out += "], ";
    }
    AppendItems(top, &out);
    return Reply{200, std::move(out)};
  }

  // `"items": [{"item": ID, "score": S}, ...]}` and a line break.
  void AppendItems(const std::vector<models::cf::Scored>& top, std::string* out) const {
    *out += "\"items\": [";
    for (std::size_t i = 0; i < top.size(); ++i) {
      *out += i ? ", {\"item\": " : "{\"item\": ";
      *out += JsonString(model_.item_ids[top[i].item]);
      *out += ", \"score\": ";
      AppendScore6(top[i].score, out);
      *out += '}';
    }
    *out += "]}\n";
  }

  Reply Recommend(JsonValue body) const {
    if (auto history = body.find("history")) {
      if (body.contains("user")) return ErrorReply(400, "give \"user\" or \"history\", not both");
      return RecommendFromHistory(*history, body);
    }
    auto user = StringField(body, "user");
    if (!user.ok()) return ErrorReply(400, user.status().message());
    std::size_t n = 0;
    bool fill = true;
    if (Status s = ListOptions(body, &n, &fill); !s.ok()) return ErrorReply(400, s.message());
    std::vector<models::cf::Scored> top;
    const std::int64_t u = users_.Find(*user);
    if (u < 0) {
      models::cf::PopularTop(n, {}, pop_, &top);
    } else {
      models::cf::ItemScores scores(static_cast<std::uint32_t>(model_.item_ids.size()));
      models::cf::RecommendForUser(model_, pop_, static_cast<std::uint32_t>(u), n, fill, &scores, &top);
    }
    std::string out = "{\"user\": " + JsonString(*user);
    if (u < 0) out += ", \"fallback\": \"popularity\"";
    out += ", ";
    AppendItems(top, &out);
    return Reply{200, std::move(out)};
  }

  Reply Similar(JsonValue body) const {
    const bool by_item = model_.item_based();
    const std::string key = by_item ? "item" : "user";
    if (body.is_object() && body.contains(by_item ? "user" : "item")) {
      return ErrorReply(400, fmt::format("this model is {}: give \"{}\"", model_.kind, key));
    }
    auto id = StringField(body, key);
    if (!id.ok()) return ErrorReply(400, id.status().message());
    auto n = IntField(body, "n", 10, 1, kMaxN);
    if (!n.ok()) return ErrorReply(400, n.status().message());
    const auto& ids = by_item ? model_.item_ids : model_.user_ids;
    const std::int64_t e = (by_item ? items_ : users_).Find(*id);
    if (e < 0) return ErrorReply(404, fmt::format("{} \"{}\" is not in the model", key, *id));
    const auto ei = static_cast<std::uint32_t>(e);
    const bool cold = by_item && model_.Mix().Cold(ei);
    const auto& lists = cold ? model_.content : model_.neighbors;
    auto nb = lists.Ids(ei);
    auto sc = lists.Scores(ei);
    std::string out = "{\"" + key + "\": " + JsonString(*id);
    if (cold) out += ", \"cold\": true";
    out += ", \"neighbors\": [";
    std::size_t shown = 0;
    for (std::size_t t = 0; t < nb.size() && shown < static_cast<std::size_t>(*n); ++t) {
      if (nb[t] == models::cf::NeighborLists::kNone) break;
      out += fmt::format("{}{{\"{}\": {}, \"score\": ", shown ? ", " : "", key,
                         JsonString(ids[nb[t]]));
      AppendScore6(sc[t], &out);
      out += '}';
      ++shown;
    }
    out += "]}\n";
    return Reply{200, std::move(out)};
  }

  const models::cf::CfModel model_;
  const models::cf::IdIndex users_, items_;  // views into model_'s id vectors
  const models::cf::Popularity pop_;
};

}  // namespace

Result<std::unique_ptr<ServedModel>> LoadServedCf(const std::string& dir,
                                                  const privacy::EncryptionKey* key) {
  return ServedCf::Load(dir, key);
}

}  // namespace ecps::serve
