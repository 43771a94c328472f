// A small writer of ONNX model files: the protobuf wire format (varints and length-delimited
// fields) and the few ONNX messages a linear or k-means graph needs (ModelProto, GraphProto,
// NodeProto with integer attributes, TensorProto with raw little-endian data, ValueInfoProto
// with fixed or named dimensions). Field numbers are those of onnx.proto (ONNX 1.12).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ecps::models::onnx {

/// Protobuf wire format, appended field by field.
class ProtoWriter {
 public:
  /// A varint field (wire type 0); negative int64 values as their two's complement (10 bytes).
  void Varint(std::uint32_t field, std::uint64_t value);
  /// A length-delimited field (wire type 2): bytes, a string or an embedded message.
  void Bytes(std::uint32_t field, std::string_view bytes);
  void Message(std::uint32_t field, const ProtoWriter& message) { Bytes(field, message.data()); }
  const std::string& data() const { return data_; }

 private:
  void RawVarint(std::uint64_t v);
  std::string data_;
};

/// TensorProto.DataType values.
enum class ElemType : std::int32_t { kFloat = 1, kInt64 = 7, kDouble = 11 };

struct Tensor {
  std::string name;
  ElemType type = ElemType::kFloat;
  std::vector<std::int64_t> dims;
  std::string raw;  ///< the values, little-endian, row-major
};
Tensor FloatTensor(std::string name, std::vector<std::int64_t> dims, std::span<const float> values);
Tensor DoubleTensor(std::string name, std::vector<std::int64_t> dims,
                    std::span<const double> values);
Tensor Int64Tensor(std::string name, std::vector<std::int64_t> dims,
                   std::span<const std::int64_t> values);

/// A graph input or output: a tensor of `type`; a dimension < 0 is the named dimension "N"
/// (the number of rows).
struct ValueInfo {
  std::string name;
  ElemType type = ElemType::kFloat;
  std::vector<std::int64_t> dims;
  std::string doc;
};

struct Node {
  std::string op_type;
  std::vector<std::string> inputs, outputs;
  std::vector<std::pair<std::string, std::int64_t>> int_attributes;
};

struct Graph {
  std::string name, doc;
  std::vector<Node> nodes;
  std::vector<Tensor> initializers;
  std::vector<ValueInfo> inputs, outputs;
};

/// The bytes of a ModelProto (IR version 7, default domain at `opset`) holding `graph`, with
/// `metadata` as metadata_props.
std::string EncodeModel(const Graph& graph, std::int64_t opset,
                        const std::vector<std::pair<std::string, std::string>>& metadata);

}  // namespace ecps::models::onnx
