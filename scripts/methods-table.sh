#!/usr/bin/env bash
# The README's table of every method (issues 14 and 15) from the committed lrfr eval results
# (docs/results/*.json): LFW verification accuracy and TAR@FAR=1e-3, BLUFR, ORL and Yale B rank-1,
# a column per probe size. Each label joins the runs of one pipeline (scripts/results-table.mts).
set -euo pipefail
cd "$(dirname "$0")/.."
R=docs/results
args=(
  "bicubic → dlib=$R/dlib-bicubic-16.json+$R/dlib-bicubic-orl-yaleb-32-24-12.json+$R/dlib-bicubic-orl-yaleb-7.json"
  "C0 DSR → dlib=$R/dlib-c0-16.json"
  "dlib cycle: C2 DSR → C1=$R/dlib-cycle.json"
  "EdgeFace cycle: C2 DSR → C1=$R/edgeface-cycle.json"
  "bicubic → MobileFaceNet=$R/mfn-bicubic-lfw-16-14-7.json+$R/mfn-bicubic-lfw-28-24.json+$R/mfn-bicubic-orl-yaleb-16-14-7.json+$R/mfn-bicubic-orl-yaleb-28-24.json+$R/mfn-bicubic-blufr-16.json"
  "A, α = 0 (600 steps)=$R/wdsr-a0-600-lfw-16-14-7.json+$R/wdsr-a0-600-orl-yaleb-16-14-7.json+$R/wdsr-a0-600-blufr-16.json"
  "A, α = 0.5=$R/wdsr-a05-lfw-16-14-7.json+$R/wdsr-a05-orl-yaleb-16-14-7.json+$R/wdsr-a05-blufr-16.json"
  "A, α = 0.5, 28 px model=$R/wdsr-a05-28-lfw-28-24-14-7.json+$R/wdsr-a05-28-orl-yaleb-28-24-16-14-7.json+$R/wdsr-a05-28-blufr-16.json"
  "A, α = 0.5, joint=$R/wdsr-a05-joint-lfw-16-14-7.json+$R/wdsr-a05-joint-orl-yaleb-16-14-7.json"
  "B: UNet → dlib=$R/unet-lfw-16.json+$R/unet-lfw-32-24-12.json+$R/unet-blufr-16.json+$R/unet-orl-yaleb-32-24-16-12-7.json"
  "B + concat=$R/unet-concat-lfw-16.json+$R/unet-concat-blufr-16.json+$R/unet-concat-orl-yaleb-32-24-16-12-7.json"
  "C: WaveResNet=$R/wave-resnet-16.json+$R/wave-resnet-16-blufr.json+$R/wave-resnet-orl-yaleb-32-24-12.json+$R/wave-resnet-lfw-32-24-12.json+$R/wave-resnet-blufr-32-24-12.json"
  "C ablation: without KD=$R/wave-resnet-no-kd-orl-yaleb-16.json+$R/wave-resnet-no-kd-lfw-blufr-16.json"
  "C ablation: without the wavelet term=$R/wave-resnet-no-wavelet-orl-yaleb-16.json+$R/wave-resnet-no-wavelet-lfw-blufr-16.json"
  "C ablation: strides, not Haar=$R/wave-resnet-strides-orl-yaleb-16.json+$R/wave-resnet-strides-lfw-blufr-16.json"
  "D: dlib, gallery matched=$R/dlib-matched-16.json+$R/dlib-matched-orl-yaleb-32-24-12.json+$R/dlib-matched-lfw-32-24-12.json+$R/dlib-matched-blufr-32-24-12.json"
  "D: dlib, matched + templates=$R/dlib-templates-matched-orl-yaleb-32-24-16-12.json"
  "D ablation: C2 DSR → dlib, matched=$R/dlib-c2dsr-matched-orl-yaleb-16.json"
  "D ablation: dlib cycle C2 DSR → C1, gallery matched by dlib=$R/dlib-cycle-matched-orl-yaleb-16.json"
  "D ablation: EdgeFace-XXS C1, matched=$R/edgeface-c1-matched-16.json"
)
# a run not made yet (its file absent) is left out of its label, with a note on stderr
kept=()
for a in "${args[@]}"; do
  label=${a%=*}; files=()
  IFS="+" read -ra fs <<< "${a##*=}"
  for f in "${fs[@]}"; do if [[ -f $f ]]; then files+=("$f"); else echo "methods-table: $label: no $f yet" >&2; fi; done
  (( ${#files[@]} )) && kept+=("$label=$(IFS=+; echo "${files[*]}")")
done
exec npx tsx scripts/results-table.mts --metrics lfw-acc,lfw-tar,blufr-rank1,orl-rank1,yaleb-rank1 "${kept[@]}"
