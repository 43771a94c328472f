#include "models/export/onnx_writer.h"

#include <bit>
#include <cstring>

namespace ecps::models::onnx {
namespace {

static_assert(std::endian::native == std::endian::little, "raw_data is written as in memory");

constexpr std::uint32_t kVarint = 0, kLengthDelimited = 2;

template <class T>
Tensor MakeTensor(std::string name, ElemType type, std::vector<std::int64_t> dims,
                  std::span<const T> values) {
  Tensor t{std::move(name), type, std::move(dims), std::string(values.size_bytes(), '\0')};
  if (!values.empty()) std::memcpy(t.raw.data(), values.data(), values.size_bytes());
  return t;
}

ProtoWriter EncodeTensor(const Tensor& t) {
  ProtoWriter w;
  for (std::int64_t d : t.dims) w.Varint(1, static_cast<std::uint64_t>(d));  // dims
  w.Varint(2, static_cast<std::uint64_t>(t.type));                           // data_type
  w.Bytes(8, t.name);                                                        // name
  w.Bytes(9, t.raw);                                                         // raw_data
  return w;
}

ProtoWriter EncodeValueInfo(const ValueInfo& v) {
  ProtoWriter shape;
  for (std::int64_t d : v.dims) {
    ProtoWriter dim;
    if (d < 0) {
      dim.Bytes(2, "N");  // dim_param
    } else {
      dim.Varint(1, static_cast<std::uint64_t>(d));  // dim_value
    }
    shape.Message(1, dim);
  }
  ProtoWriter tensor_type;
  tensor_type.Varint(1, static_cast<std::uint64_t>(v.type));  // elem_type
  tensor_type.Message(2, shape);
  ProtoWriter type;
  type.Message(1, tensor_type);  // TypeProto.tensor_type
  ProtoWriter w;
  w.Bytes(1, v.name);
  w.Message(2, type);
  if (!v.doc.empty()) w.Bytes(3, v.doc);
  return w;
}

ProtoWriter EncodeNode(const Node& n, std::size_t index) {
  ProtoWriter w;
  for (const auto& in : n.inputs) w.Bytes(1, in);
  for (const auto& out : n.outputs) w.Bytes(2, out);
  w.Bytes(3, n.op_type + "_" + std::to_string(index));  // name
  w.Bytes(4, n.op_type);
  for (const auto& [name, value] : n.int_attributes) {
    ProtoWriter a;
    a.Bytes(1, name);
    a.Varint(3, static_cast<std::uint64_t>(value));  // i
    a.Varint(20, 2);                                 // type INT
    w.Message(5, a);
  }
  return w;
}

}  // namespace

void ProtoWriter::RawVarint(std::uint64_t v) {
  while (v >= 0x80) {
    data_ += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  data_ += static_cast<char>(v);
}

void ProtoWriter::Varint(std::uint32_t field, std::uint64_t value) {
  RawVarint((std::uint64_t{field} << 3) | kVarint);
  RawVarint(value);
}

void ProtoWriter::Bytes(std::uint32_t field, std::string_view bytes) {
  RawVarint((std::uint64_t{field} << 3) | kLengthDelimited);
  RawVarint(bytes.size());
  data_ += bytes;
}

Tensor FloatTensor(std::string name, std::vector<std::int64_t> dims,
                   std::span<const float> values) {
  return MakeTensor(std::move(name), ElemType::kFloat, std::move(dims), values);
}
Tensor DoubleTensor(std::string name, std::vector<std::int64_t> dims,
                    std::span<const double> values) {
  return MakeTensor(std::move(name), ElemType::kDouble, std::move(dims), values);
}
Tensor Int64Tensor(std::string name, std::vector<std::int64_t> dims,
                   std::span<const std::int64_t> values) {
  return MakeTensor(std::move(name), ElemType::kInt64, std::move(dims), values);
}

std::string EncodeModel(const Graph& graph, std::int64_t opset,
                        const std::vector<std::pair<std::string, std::string>>& metadata) {
  ProtoWriter g;
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) g.Message(1, EncodeNode(graph.nodes[i], i));
  g.Bytes(2, graph.name);
  for (const auto& t : graph.initializers) g.Message(5, EncodeTensor(t));
  if (!graph.doc.empty()) g.Bytes(10, graph.doc);
  for (const auto& v : graph.inputs) g.Message(11, EncodeValueInfo(v));
  for (const auto& v : graph.outputs) g.Message(12, EncodeValueInfo(v));

  ProtoWriter opset_id;
  opset_id.Bytes(1, "");
  opset_id.Varint(2, static_cast<std::uint64_t>(opset));
  ProtoWriter m;
  m.Varint(1, 7);  // ir_version 7 (ONNX 1.8+; opset 13)
  m.Bytes(2, "ecps");
  m.Message(7, g);
  m.Message(8, opset_id);
  for (const auto& [key, value] : metadata) {
    ProtoWriter e;
    e.Bytes(1, key);
    e.Bytes(2, value);
    m.Message(14, e);
  }
  return m.data();
}

}  // namespace ecps::models::onnx
