// `ecps export`: a trained model as JSON or ONNX for other tools (models/export/export.h).
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "launch/command.h"
#include "launch/privacy_options.h"
#include "models/export/export.h"

namespace ecps::launch {

void AddExportCommand(CommandTree& tree) {
  struct Opts {
    std::string model, format = "json", out, encrypt_key;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = tree.root->add_subcommand(
      "export",
      "Write a trained model in a form other tools load: JSON (lr, linreg, kmeans, itemcf, usercf: "
      "weights or centroids with names and the exact feature transform) or ONNX (lr, kmeans)");
  sub->add_option("--model", o->model,
                  "Model folder written by `ecps train ...` (or its model.bin / model.ecps)")
      ->required();
  sub->add_option(
         "--format", o->format,
         "json: the model and its feature transform as a specification; onnx: a graph from "
         "the feature vector to the probability (lr) or to the segment and distances (kmeans)")
      ->capture_default_str()
      ->check(CLI::IsMember({"json", "onnx"}));
  sub->add_option("--out", o->out,
                  "Output file, replaced atomically when it exists (- for standard output)")
      ->required();
  AddEncryptKeyOption(*sub, o->encrypt_key,
                      "the key the model was trained with, to open a sealed model file; the export "
                      "is written plain");
  AddConfigOption(*sub);
  sub->callback([o, sel = tree.selected] {
    *sel = [o]() -> Status {
      ECPS_ASSIGN_OR_RETURN(const auto key, LoadEncryptKey(o->encrypt_key));
      ECPS_ASSIGN_OR_RETURN(const auto format, models::exporting::ParseExportFormat(o->format));
      std::string kind;
      ECPS_ASSIGN_OR_RETURN(std::string bytes,
                            models::exporting::ExportModel(o->model, format, key.get(), &kind));
      ECPS_RETURN_IF_ERROR(WriteCommandOutput(o->out, bytes));
      if (o->out == "-") return Status::Ok();
      std::fprintf(stderr, "export: %s model -> %s (%s, %zu bytes)\n", kind.c_str(), o->out.c_str(),
                   o->format.c_str(), bytes.size());
      return Status::Ok();
    };
  });
}

}  // namespace ecps::launch
