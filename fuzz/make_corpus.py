#!/usr/bin/env python3
"""Writes the reader, config and message seeds of fuzz/corpus/ (the model seeds come from a tiny
training run, see fuzz/README.md). Usage: fuzz/make_corpus.py GENERATE_DIR
where GENERATE_DIR is the output of `ecps generate --out DIR --users 60 --items 30
--impressions-per-user 4`. Each reader seed is one option byte (see the target) + the file."""
import gzip
import os
import struct
import sys

gen = sys.argv[1]
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def head(name, lines):
    with open(os.path.join(gen, name), "rb") as f:
        return b"".join(f.readlines()[:lines])


def put(target, name, data):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# libsvm / libffm (option byte: hash bits, num_features, bias, real labels, optional, skip)
imp = head("impressions.libsvm", 12)
put("libsvm", "generate", b"\x10" + imp)
put("libsvm", "generate-crlf-skip", b"\x90" + imp.replace(b"\n", b"\r\n"))
put("libsvm", "direct-real", b"\x28" + b"2.5 1:0.5 7:1e-3 999:2\n-1 3:1\n+1 4:1.5\n")
put("libsvm", "bad-rows-skip", b"\x80" + b"1 3:1\n0 7:x\n\n1 2:1 # c\nfoo 1:1\n1 0:1 4294967296:1\n")
put("libsvm", "unlabelled", b"\x40" + b"3:1 7:0.5\n1 4:1\n")
ffm = b"".join(b"%s %s\n" % (l.split()[0], b" ".join(b"%d:%s" % (i % 4, t) for i, t in enumerate(l.split()[1:])))
               for l in imp.splitlines())
put("libffm", "from-generate", b"\x10" + ffm)
put("libffm", "direct-real-skip", b"\xa8" + b"1.5 0:3:1 1:7:0.5\n0 2:2:1 x:1:1\n1 1:1\n")
put("libffm", "unlabelled", b"\x40" + b"0:3:1 1:7:0.5\n")

# CSV examples for lr (label column y; option byte: delimiter, label kind, given roles, skip)
put("csv_examples", "inferred", b"\x10" + b"id,y,a,b,c\n1,1,0.5,2,x\n2,0,1,3,y\n3,1,,4,\"x,z\"\n4,0,2,-1e3,y\n")
put("csv_examples", "given-roles-skip", b"\xc0" + b"y,a,b,c\r\ntrue,1,2,red\r\nno,3,x,blue\r\n1,\"4\",5,\"gr\"\"een\"\r\n")
put("csv_examples", "tab-real", b"\x18" + b"y\ta\tb\tc\n2.5\t1\t2\tx\n-1\t3\t4\ty\n")
users = head("users.csv", 10).replace(b"user_id", b"id").replace(b"rating", b"y")
put("csv_examples", "generate-users", b"\x30" + users)

# k-means feature CSV (schema user_id, age, gender F|M|X, size S|M|L, spend, label churn)
put("feature_csv", "basic", b"\x02" + b"user_id,age,gender,size,spend,churn\nu1,31,F,S,10.5,0\nu2,45,M,L,0,1\n"
    b"u3,,X,M,100,0\n\"u,4\",22,F,S,1e3,1\n")
put("feature_csv", "line-ids-tab", b"\x05" + b"age\tgender\tsize\tspend\r\n31\tF\tS\t10.5\r\n45\tM\tL\t0\r\n")
put("feature_csv", "bad-values", b"\x00" + b"spend,size,gender,age,user_id\nx,S,F,3,u1\n1,XL,F,3,u2\n1,S,Q,3,u3\n1,S,F,3,\n")

# Interactions (option byte: header mode, skip bad rows, start offset; second byte: separator,
# and bit 4: the next line is a --columns value)
put("interactions", "generate", b"\x00\x00" + head("interactions.csv", 40))
put("interactions", "ratings-quoted", b"\x04\x00" + b"user,item,rating,timestamp\r\n\"a,b\",\"x \"\"y\"\"\",4.5,17\r\n\r\nc, d ,1,2\r\n")
put("interactions", "spaces", b"\x02\x00" + b"  u1   i1  \n\tu2 \t i2\n1 6393\n1 13504\n")
put("interactions", "tab-header", b"\x01\x00" + b"who\twhat\tstars\nu1\ti1\t5\nu2\ti1\tx\n")
put("interactions", "time-named", b"\x58\x00" + b"user,item,time,rating\nu1,i1,5,3\nu1,i2,6,nan\nu2,i1,7\n")
put("interactions", "movielens", b"\x00\x00" + b"1::1193::5::978300760\n1::661::3::978302109\n2::1357::x::978298709\n")
put("interactions", "epoch-or-not", b"\x00\x00" + b"u1,i1,1770155312\nu2,i1,20240101\n")
put("interactions", "columns-list", b"\x00\x05" + b"item,user,-,timestamp\ni1;u1;9.99;100\ni2;u1;5;101\n")
put("interactions", "columns-pairs", b"\x00\x04" + b"user=customer,item=3,rating=qty\norder,customer,sku,qty\n1,u1,i1,2\n")
put("interactions", "gzip", b"\x00\x00" + gzip.compress(b"u1 i1 4\nu2 i2 5\n", mtime=0))

# Item attributes (option byte: id column item_id, extra items, bands)
put("attributes", "generate", b"\x19" + head("items.csv", 20))
put("attributes", "tab-missing", b"\x0a" + b"sku\tcolour\tweight\nA\tred\t1.5\nB\t\t2\nC\tblue\t\nA\tred\t1\n")
# Item text (option byte: id column item_id, title+description, stop words, extra items)
put("item_text", "generate", b"\x0f" + head("item_text.csv", 20))
put("item_text", "mixed", b"\x02" + "id,title,description\nA,Crème brûlée,\"手机壳, カメラ\"\n"
    .encode() + b"B,caf\xe9,\"a \"\"b\"\"\"\n")

# TOML configs (option byte picks the command; bit 7 adds --out on the command line)
cfg = {
    0: b'data = "users.csv"\nfeatures = ["age", "purchase_frequency"]\nk = 8\nlocal = true\nseed = 7\n',
    1: b'train = ["a.libsvm"]\nformat = "libsvm"\nepochs = 2\nalgorithm = "ftrl"\nout = "lr-out"\n',
    2: b'train = "a.csv"\nformat = "csv"\nlabel-column = "y"\n[extra]\nx = 1\n',
    3: b'data = "i.csv"\nneighbors = 20\nsimilarity = "cosine"\nout = ""\nquiet = true\n',
    5: b'model = "m"\ndata = "u.csv"\nout = "-"\nskip-bad-rows = true\n',
    9: b'out = "gen"\nusers = 100\nitems = 1e3\nseed = -1\n',
    10: b'# comment\nworkers = 2\nservers = 1\nheartbeat-timeout = nan\nlocal = true\n',
}
for b, text in cfg.items():
    put("config", "cmd%d" % b, bytes([b]) + text)
put("config", "bad-utf8", bytes([0x83]) + b'data = "\xff\xfe.csv"\nk = 3\n')

# Parameter-server messages: header (see ps/message.h) + keys + values + control.
def message(mtype, table=0, topic=0, clock=0, keys=b"", values=b"", control=b"", rb=0, re=0, sender=2, receiver=1):
    head = struct.pack("<IHHiiIIqQQQQQQ", 0xEC955001, mtype, 0, sender, receiver, table, topic, clock, 7,
                       rb, re, len(keys), len(values), len(control))
    return head + keys + values + control

k = struct.pack("<3Q", 64, 100, 127)
put("ps_message", "push-keys", message(1, table=1, keys=k, values=struct.pack("<6f", 1, 2, 3, 4, 5, 6)))
put("ps_message", "push-clocked", message(1, table=4, clock=3, keys=k, values=struct.pack("<3f", 1, 2, 3)))
put("ps_message", "pull-range", message(3, table=2, rb=70, re=90))
put("ps_message", "pull-keys", message(3, table=0, keys=k))
reason = struct.pack("<iQ", 2, 5) + b"bad x"
put("ps_message", "abort", message(10, control=reason))
put("ps_message", "control-strings", message(12, topic=8, control=struct.pack("<QQ", 2, 1) + b"a" + struct.pack("<Q", 1) + b"b"))
put("ps_message", "control-doubles", message(12, topic=9, control=struct.pack("<QQQd", 1, 3, 1, 0.5)))
