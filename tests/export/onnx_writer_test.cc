// The protobuf wire encoding of models/export/onnx_writer.h against the examples of the
// protobuf encoding guide, and the layout of a small ONNX model (the whole files are checked
// by onnx.checker in export_test.cc).
#include <gtest/gtest.h>

#include <string>

#include "models/export/onnx_writer.h"

namespace ecps::models::onnx {
namespace {

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s += static_cast<char>(c);
  return s;
}

TEST(ProtoWriter, VarintsAsTheEncodingGuideShows) {
  ProtoWriter w;
  w.Varint(1, 150);
  EXPECT_EQ(w.data(), Bytes({0x08, 0x96, 0x01}));
  ProtoWriter z;
  z.Varint(3, 0);
  EXPECT_EQ(z.data(), Bytes({0x18, 0x00}));
  ProtoWriter neg;  // int64 -1: ten bytes of two's complement
  neg.Varint(1, static_cast<std::uint64_t>(std::int64_t{-1}));
  EXPECT_EQ(neg.data(), Bytes({0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
  ProtoWriter big;  // a field number above 15 takes two tag bytes
  big.Varint(20, 2);
  EXPECT_EQ(big.data(), Bytes({0xa0, 0x01, 0x02}));
}

TEST(ProtoWriter, LengthDelimitedFieldsAndMessages) {
  ProtoWriter w;
  w.Bytes(2, "testing");
  EXPECT_EQ(w.data(), Bytes({0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g'}));
  ProtoWriter inner;
  inner.Varint(1, 150);
  ProtoWriter outer;
  outer.Message(3, inner);
  EXPECT_EQ(outer.data(), Bytes({0x1a, 0x03, 0x08, 0x96, 0x01}));
  ProtoWriter longer;  // a length of 300 is a two-byte varint
  longer.Bytes(1, std::string(300, 'x'));
  EXPECT_EQ(longer.data().substr(0, 3), Bytes({0x0a, 0xac, 0x02}));
  EXPECT_EQ(longer.data().size(), 303u);
}

TEST(OnnxModel, StartsWithTheIrVersionAndHoldsTheTensorBytes) {
  Graph g;
  g.name = "g";
  const float w[] = {1.5f, -2.0f};
  g.initializers.push_back(FloatTensor("w", {2, 1}, w));
  g.inputs.push_back({"x", ElemType::kFloat, {-1, 2}, ""});
  g.outputs.push_back({"y", ElemType::kFloat, {-1, 1}, ""});
  g.nodes.push_back({"MatMul", {"x", "w"}, {"y"}, {}});
  const std::string m = EncodeModel(g, 13, {{"k", "v"}});
  EXPECT_EQ(m.substr(0, 2), Bytes({0x08, 0x07}));  // ir_version 7
  const std::string raw(reinterpret_cast<const char*>(w), sizeof w);
  EXPECT_NE(m.find(Bytes({0x4a, 0x08}) + raw), std::string::npos);  // raw_data: 8 bytes
  EXPECT_NE(m.find(Bytes({0x42, 0x04, 0x0a, 0x00, 0x10, 0x0d})), std::string::npos);  // opset 13
}

}  // namespace
}  // namespace ecps::models::onnx
