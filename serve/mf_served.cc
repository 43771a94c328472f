// mf models (models/mf) behind /v1/models/NAME:recommend and :similar, answered as
// `ecps recommend` and `ecps similar --item` answer on them (the same functions and digits).
#include <fmt/format.h>

#include <memory>
#include <string>
#include <vector>

#include "models/mf/mf_model.h"
#include "serve/instances.h"
#include "serve/served_model.h"

namespace ecps::serve {
namespace {

class ServedMf final : public ServedModel {
 public:
  std::string kind() const override { return "mf"; }
  std::string verbs() const override { return "recommend, similar"; }

  static Result<std::unique_ptr<ServedModel>> Load(const std::string& dir_or_file,
                                                    const privacy::EncryptionKey* key) {
    ECPS_ASSIGN_OR_RETURN(models::mf::MfModel m, models::mf::LoadMfModel(dir_or_file, key));
    return std::unique_ptr<ServedModel>(new ServedMf(std::move(m)));
  }

  Reply Handle(const std::string& verb, JsonValue body) const override {
    if (verb != "recommend" && verb != "similar") {
      return ErrorReply(
          400, fmt::format("model \"{}\" ({}) answers :recommend and :similar", name(), kind()));
    }
    const bool recommend = verb == "recommend";
    const std::string key = recommend ? "user" : "item";
    auto id = StringField(body, key);
    if (!id.ok()) return ErrorReply(400, id.status().message());
    auto n = IntField(body, "n", 10, 1, kMaxN);
    if (!n.ok()) return ErrorReply(400, n.status().message());
    bool fill = true;  // `ecps recommend --fill-popular` defaults to true
    if (auto it = body.find("fill_popular"); it && recommend) {
      if (!it->is_boolean()) return ErrorReply(400, "\"fill_popular\" must be true or false");
      fill = it->boolean();
    }
    std::vector<models::cf::Scored> top;
    bool fallback = false;
    if (recommend) {
      // A recommender per request: its item scores are scratch space.
      models::mf::MfRecommender r(model_);
      fallback = r.Recommend(*id, static_cast<std::size_t>(*n), fill, &top);
    } else {
      const std::int64_t e = items_.Find(*id);
      if (e < 0) return ErrorReply(404, fmt::format("item \"{}\" is not in the model", *id));
      top = models::mf::SimilarItems(model_, static_cast<std::uint32_t>(e),
                                     static_cast<std::size_t>(*n));
    }
    std::string out = "{\"" + key + "\": " + JsonString(*id);
    if (fallback) out += ", \"fallback\": \"popularity\"";
    out += recommend ? ", \"items\": [" : ", \"neighbors\": [";
    for (std::size_t i = 0; i < top.size(); ++i) {
      out += fmt::format("{}{{\"item\": {}, \"score\": {:.6g}}}", i ? ", " : "",
                         JsonString(model_.item_ids[top[i].item]), top[i].score);
    }
    out += "]}\n";
    return Reply{200, std::move(out)};
  }

 private:
  explicit ServedMf(models::mf::MfModel m) : model_(std::move(m)), items_(model_.item_ids) {}

  static constexpr long long kMaxN = 1'000'000;
  const models::mf::MfModel model_;
  const models::cf::IdIndex items_;  // a view into model_'s item ids
};

}  // namespace

Result<std::unique_ptr<ServedModel>> LoadServedMf(const std::string& dir,
                                                  const privacy::EncryptionKey* key) {
  return ServedMf::Load(dir, key);
}

}  // namespace ecps::serve
