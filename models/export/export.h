// `ecps export`: a trained model in a form other tools load without ecps.
//
//  - json: everything needed to score new data with a few lines of any language — for lr and
//    linreg the weights by key with their feature names, the exact hashing and transform
//    (hash functions and constants, bucket count, how a libsvm/libffm line or a CSV row
//    becomes keys and values, the standardisation of numeric columns, the intercept, the
//    link and the arithmetic of `ecps predict`); for k-means the feature columns and their
//    encoding, the normaliser, the centroids, sizes, risk-score rule and profiles; for item-
//    and user-based CF the neighbour lists by id and the item popularity.
//  - onnx: lr (input: the transformed feature vector over the key space; output: the
//    probability) and k-means (input: the encoded feature vector in original units; outputs:
//    the nearest segment and the distances to every centroid).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "privacy/sealed.h"
#include "ps/status.h"

namespace ecps::models::exporting {

enum class ExportFormat { kJson, kOnnx };
/// "json", "onnx".
Result<ExportFormat> ParseExportFormat(std::string_view name);

/// The export of the model in `model` (a training --out folder, or its model.bin/model.ecps),
/// opened with `key` when sealed; sets *kind to the model's kind. Refused (InvalidArgument):
/// onnx for a model other than lr or kmeans.
Result<std::string> ExportModel(const std::string& model, ExportFormat format,
                                const privacy::EncryptionKey* key, std::string* kind);

}  // namespace ecps::models::exporting
