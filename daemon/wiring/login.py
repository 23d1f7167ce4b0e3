"""What ``ffn-sync ffn-login`` needs from the FFN adapter: the consent URL and the code exchange."""

from adapters.ffn.login import authorize_url, exchange_code

__all__ = ["authorize_url", "exchange_code"]
