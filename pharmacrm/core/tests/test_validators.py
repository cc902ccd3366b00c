"""Chinese identifiers and the masks personal data wears for roles without the right to see it."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError

from pharmacrm.core.masking import mask_birthday, mask_handle, mask_phone, mask_resident_id
from pharmacrm.core.validators import LANDLINE, MOBILE, check_uscc, normalize_phone, normalize_resident_id


@pytest.mark.parametrize("raw", ["91110108551385082Q", " 9111 0108 5513 8508 2q ", "９１１１０１０８５５１３８５０８２Ｑ"])
def test_a_good_uscc_is_normalised_and_passes(raw: str) -> None:
    assert check_uscc(raw).value == "91110108551385082Q"
    assert check_uscc(raw).checksum_ok


@pytest.mark.parametrize("raw", ["91110108551385082A", "91350100M0001TGQXM"])  # a typo; an early pilot code
def test_a_bad_check_character_is_a_warning_not_a_refusal(raw: str) -> None:
    result = check_uscc(raw)
    assert result.value == raw and not result.checksum_ok


@pytest.mark.parametrize(("raw", "code"), [
    ("", "uscc_length"), ("9111010855138508", "uscc_length"), ("91110108551385O82Q", "uscc_format"),
    ("91110108551385082Q1", "uscc_length"), ("北京协和医院的统一代码无效啊啊啊啊啊", "uscc_format"),
])
def test_a_malformed_uscc_is_refused(raw: str, code: str) -> None:
    with pytest.raises(ValidationError) as error:
        check_uscc(raw)
    assert error.value.code == code


@pytest.mark.parametrize(("raw", "expected"), [
    ("13812345678", "13812345678"),
    ("+86 138 1234 5678", "13812345678"),
    ("0086-13812345678", "13812345678"),
    ("１３８１２３４５６７８", "13812345678"),
    ("010-65281234", "010-65281234"),
    ("(0755) 8888 8888", "0755-88888888"),
    ("0571-87654321-123", "0571-87654321-123"),
    ("0571-87654321转123", "0571-87654321-123"),
    ("+86 10 6528 1234", "010-65281234"),
    ("+86 (0755) 8888 8888", "0755-88888888"),
    ("15826008603", "15826008603"),  # a range a metadata table may not know yet
    ("400-810-8888", "400-810-8888"),
])
def test_phones_take_one_canonical_form(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["", "12345678901", "021-1234567", "1381234567", "+1 415 555 0100", "电话",
                                 "010-12345678", "13812345678-12"])  # local numbers never start with 0 or 1
def test_bad_phones_are_refused(raw: str) -> None:
    with pytest.raises(ValidationError):
        normalize_phone(raw)


def test_phone_kind_is_enforced() -> None:
    assert normalize_phone("13812345678", kind=MOBILE) == "13812345678"
    with pytest.raises(ValidationError) as error:
        normalize_phone("010-65281234", kind=MOBILE)
    assert error.value.code == "phone_not_mobile"
    with pytest.raises(ValidationError) as error:
        normalize_phone("13812345678", kind=LANDLINE)
    assert error.value.code == "phone_not_landline"


def test_resident_id_numbers() -> None:
    assert normalize_resident_id("11010519491231002x") == "11010519491231002X"
    with pytest.raises(ValidationError):
        normalize_resident_id("110105194912310021")  # wrong check character
    with pytest.raises(ValidationError):
        normalize_resident_id("110105194913310028")  # month 13


def test_masks_keep_only_what_recognises_a_known_value() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("010-65281234") == "010-****1234"
    assert mask_phone("0571-87654321-123") == "0571-****4321"
    assert mask_phone("") == ""
    assert mask_resident_id("11010519491231002X") == "110***********002X"
    assert mask_handle("wxid_abc123") == "w*********3"
    assert mask_handle("li@example.com") == "***@example.com"
    assert mask_handle("wang.fang@hospital.cn") == "w*******g@hospital.cn"
    assert mask_birthday(datetime.date(1975, 3, 8)) == "****-03-08"
    assert mask_birthday(None) == ""
