#!/bin/sh
# wordfreq.sh FILE: the words of FILE by frequency, most frequent first.
tr -cs 'A-Za-z' '\n' <"$1" | tr 'A-Z' 'a-z' | grep . | sort | uniq -c | sort -rn
