// A reference for issue 13's parse + score floor (bench/score; not part of
// the build, not a test): how much CPU does simdjson's on-demand parser, the
// fastest JSON reader packaged in Debian, take just to pull the fields lleval
// parse needs (custom_id, status_code, the message content, finish_reason,
// latency_ms, gen_tps) out of every line of a results JSONL? No scoring, no
// output. The file is read before the clock starts (the floor counts reading
// separately); the best of five passes counts. Prints {"lines": N, "cpu_s": S,
// "bytes": B, "kernel": the SIMD implementation simdjson chose for this CPU}.
//
//   c++ -O2 -std=c++17 simdjson_fields.cpp -lsimdjson -o simdjson_fields
#include <simdjson.h>
#include <cstdio>
#include <ctime>

static double cpu_now()
{
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: simdjson_fields RESULTS.jsonl\n");
        return 2;
    }
    simdjson::padded_string text;
    if (simdjson::padded_string::load(argv[1]).get(text)) {
        std::fprintf(stderr, "simdjson_fields: cannot read %s\n", argv[1]);
        return 1;
    }
    simdjson::ondemand::parser parser;
    double best = 1e9;
    size_t lines = 0, bytes = 0;
    for (int round = 0; round < 5; round++) {
        double t0 = cpu_now();
        simdjson::ondemand::document_stream docs;
        if (parser.iterate_many(text, 1 << 20).get(docs))
            return 1;
        lines = bytes = 0;
        for (auto doc : docs) {
            simdjson::ondemand::object line;
            if (doc.get_object().get(line))
                return 1;
            std::string_view cid, fin, content;
            int64_t status = 0;
            double lat = 0, tps = 0;
            for (auto field : line) {
                std::string_view key;
                if (field.unescaped_key().get(key))
                    return 1;
                if (key == "custom_id") {
                    if (field.value().get_string().get(cid))
                        return 1;
                } else if (key == "response") {
                    simdjson::ondemand::object resp;
                    if (field.value().get_object().get(resp))
                        return 1;
                    for (auto rf : resp) {
                        std::string_view rk;
                        if (rf.unescaped_key().get(rk))
                            return 1;
                        if (rk == "status_code") {
                            if (rf.value().get_int64().get(status))
                                return 1;
                        } else if (rk == "body") {
                            auto body = rf.value();
                            if (body.is_null())
                                continue;
                            auto msg = body["choices"].at(0)["message"]["content"];
                            if (msg.get_string().get(content))
                                return 1;
                        }
                    }
                } else if (key == "lleval") {
                    simdjson::ondemand::object ll;
                    if (field.value().get_object().get(ll))
                        return 1;
                    for (auto lf : ll) {
                        std::string_view lk;
                        if (lf.unescaped_key().get(lk))
                            return 1;
                        if (lk == "finish_reason") {
                            if (lf.value().get_string().get(fin))
                                return 1;
                        } else if (lk == "latency_ms") {
                            if (lf.value().get_double().get(lat))
                                return 1;
                        } else if (lk == "gen_tps") {
                            if (lf.value().get_double().get(tps))
                                return 1;
                        }
                    }
                }
            }
            lines++;
            bytes += cid.size() + fin.size() + content.size() + (size_t)status + (lat > tps);
        }
        double spent = cpu_now() - t0;
        if (spent < best)
            best = spent;
    }
    std::printf("{\"lines\": %zu, \"cpu_s\": %.6f, \"bytes\": %zu, \"kernel\": \"%s\"}\n", lines,
                best, bytes, simdjson::get_active_implementation()->name().c_str());
    return 0;
}
