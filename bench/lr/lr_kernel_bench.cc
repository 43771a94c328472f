// lr_kernel_bench: throughput of the worker's per-batch compute on one libsvm file, with no
// parameter server: grouping rows by batch and the log-loss gradient, in non-zeros
// per second, single-threaded and with every core.
//   lr_kernel_bench --data train.svm [--batch-size 10000] [--hash-bits 22]
#include <chrono>
#include <cstdio>

#include <CLI/CLI.hpp>
#include <tbb/global_control.h>
#include <tbb/info.h>

#include "models/lr/lr_kernels.h"
#include "worker/sparse_data.h"

using namespace ecps;

int main(int argc, char** argv) {
  std::string path;
  std::uint64_t batch = 10000;
  int bits = 22;
  CLI::App app{"Per-batch compute throughput of ecps train lr (no parameter server)"};
  app.add_option("--data", path, "libsvm file")->required();
  app.add_option("--batch-size", batch, "Rows per batch")->capture_default_str();
  app.add_option("--hash-bits", bits, "Hash bits")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  worker::ParserOptions o;
  o.hash_bits = bits;
  auto parser = *worker::ExampleParser::Make(o);
  auto t0 = std::chrono::steady_clock::now();
  auto data = worker::LoadRows({{sched::FileRange{path, 0, UINT64_MAX}, 0}}, parser, {}, nullptr);
  if (!data.ok()) {
    std::fprintf(stderr, "%s\n", data.status().ToString().c_str());
    return 1;
  }
  auto secs = [](auto t) { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count(); };
  std::printf("loaded %zu rows, %llu non-zeros in %.2f s\n", data->rows(), static_cast<unsigned long long>(data->nnz()),
              secs(t0));
  const auto B = static_cast<std::uint32_t>((data->rows() + batch - 1) / batch);
  auto t1 = std::chrono::steady_clock::now();
  const auto batches = models::lr::GroupByBatch(*data, parser.num_keys(), 1, B);
  std::printf("grouped into %u batches in %.2f s\n", B, secs(t1));
  for (int threads : {1, tbb::info::default_concurrency()}) {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads));
    models::lr::GradientKernel kernel(threads);
    std::vector<float> w, grads;
    double t_grad = 0;
    for (std::uint32_t b = 0; b < B; ++b) {
      w.assign(batches.Keys(b).size(), 0.01f);
      auto t2 = std::chrono::steady_clock::now();
      kernel.Gradient(batches, b, w.data(), 1.0f, &grads);
      t_grad += secs(t2);
    }
    const double nnz = static_cast<double>(batches.nnz());
    std::printf("%d thread(s): gradient %.2f s (%.0fM nnz/s)\n", threads, t_grad, nnz / t_grad / 1e6);
  }
  return 0;
}
