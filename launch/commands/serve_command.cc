// `ecps serve`: answers trained models over HTTP/1.1 with JSON (serve/).
#include <fmt/format.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "launch/command.h"
#include "launch/interrupt.h"
#include "launch/privacy_options.h"
#include "serve/api.h"
#include "serve/server.h"
#include "serve/tls.h"

namespace ecps::launch {

void AddServeCommand(CommandTree& tree) {
  struct Opts {
    serve::ServerOptions server;
    std::vector<std::string> models;
    std::string token_file;
    std::string encrypt_key;
    std::string tls_cert, tls_key;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = tree.root->add_subcommand(
      "serve",
      "Answer trained models over HTTP/1.1 with JSON: POST /v1/models/NAME:predict (lr, linreg, "
      "kmeans), :segment (kmeans), :recommend and :similar (itemcf, usercf); GET /healthz, "
      "/v1/models, /metrics. SIGHUP or POST /v1/admin/reload: load every model folder again and "
      "swap in each one that loads (a folder that fails keeps its old model served). SIGTERM or "
      "SIGINT: stop accepting, answer what was received, exit 0");
  sub->add_option("--model", o->models,
                  "NAME=DIR: serve the model trained into folder DIR (its kind is read from the "
                  "model file) as NAME (repeatable)")
      ->required()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sub->add_option("--address", o->server.address, "IP address to listen on")->capture_default_str();
  sub->add_option(
         "--port", o->server.port,
         "TCP port (0 = a free one; the first line on stdout says `listening on ADDRESS:PORT`)")
      ->capture_default_str()
      ->check(Interval(0, 65535));
  sub->add_option("--threads", o->server.threads, "Threads answering requests (1..256)")
      ->capture_default_str()
      ->check(Interval(1, 256));
  sub->add_option("--max-body", o->server.max_body,
                  "Largest request body in bytes; a larger one is answered 413 (1..2^31)")
      ->capture_default_str()
      ->check(Interval(1, 2147483648.0));
  sub->add_option("--read-timeout", o->server.read_timeout_s,
                  "Seconds a client has to send a whole request (header and body), counted from "
                  "the start of its read; after them the connection is closed (also the limit "
                  "for writing an answer)")
      ->capture_default_str()
      ->check(Seconds());
  sub->add_option("--header-timeout", o->server.header_timeout_s,
                  "Seconds a client has to send a request's header (and to finish a TLS "
                  "handshake), counted from the start of its read; after them the connection is "
                  "closed, so a connection idle between requests is closed too (the smaller of "
                  "this and --read-timeout applies; > 0, at most 1e6)")
      ->capture_default_str()
      ->check(Seconds());
  sub->add_option("--max-connections", o->server.max_connections,
                  "Connections open at once; one more is answered 503 and closed (1..1000000)")
      ->capture_default_str()
      ->check(Interval(1, 1000000));
  sub->add_option("--token-file", o->token_file,
                  "FILE whose first line is the bearer token every endpoint but /healthz needs "
                  "(Authorization: Bearer TOKEN) and whose optional second line is the token of "
                  "/v1/admin/* (without it they answer 403); refused unless only its owner may "
                  "read it (chmod 600)");
  AddEncryptKeyOption(*sub, o->encrypt_key,
                      "the key the models were trained with (train --encrypt-key), to open their "
                      "sealed model files, at start and at each reload (plain models load too); a "
                      "wrong key or a changed file fails the start (exit 2) or that model's "
                      "reload");
  auto* cert = sub->add_option("--tls-cert", o->tls_cert,
                                "FILE: the server's PEM certificate (chain); with --tls-key, "
                                "every connection speaks TLS 1.2 or 1.3 (https)");
  auto* tls_key = sub->add_option("--tls-key", o->tls_key,
                                  "FILE: the PEM private key of --tls-cert, unencrypted; refused "
                                  "unless only its owner may read it (chmod 600)");
  cert->needs(tls_key);
  tls_key->needs(cert);
  AddConfigOption(*sub);
  sub->callback([o, sel = tree.selected] {
    *sel = [o]() -> Status {
      if (!o->token_file.empty()) {
        ECPS_ASSIGN_OR_RETURN(o->server.tokens, serve::LoadTokens(o->token_file));
      }
      ECPS_ASSIGN_OR_RETURN(const auto key, LoadEncryptKey(o->encrypt_key));
      if (!o->tls_cert.empty()) {
        ECPS_ASSIGN_OR_RETURN(o->server.tls, serve::LoadTlsContext(o->tls_cert, o->tls_key));
      }
      serve::ModelRegistry registry;
      for (const auto& spec : o->models) {
        const auto eq = spec.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
          return InvalidArgument(fmt::format("--model {}: give NAME=DIR", spec));
        }
        const std::string name = spec.substr(0, eq);
        if (name.find_first_of(":/?# ") != std::string::npos) {
          return InvalidArgument(
              fmt::format("--model {}: a name holds none of : / ? # or spaces", spec));
        }
        if (registry.Find(name))
          return InvalidArgument(fmt::format("--model: \"{}\" given twice", name));
        ECPS_ASSIGN_OR_RETURN(auto model, serve::LoadServedModel(name, spec.substr(eq + 1), key));
        registry.Set(std::move(model));
      }
      InterruptibleScope scope;  // SIGTERM/SIGINT are recorded: the server drains, then exits 0
      HangupScope hangups;       // SIGHUP is counted: this thread reloads, off the io threads
      std::jthread reloader([&registry](std::stop_token stop) {
        for (std::uint64_t seen = HangupsReceived(); !stop.stop_requested();) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          if (const std::uint64_t now = HangupsReceived(); now != seen) {
            seen = now;
            registry.Reload();
          }
        }
      });
      return serve::RunServer(o->server, registry, [] { return CaughtSignal() != 0; });
    };
  });
}

}  // namespace ecps::launch
