"""MosaicBERT as Hugging Face ``PreTrainedModel``s: encoder, masked LM, sequence classification, token
classification and extractive question answering.

Padding tokens are dropped right after the inputs are read (before the embeddings) and restored only in
the outputs, so no layer and no attention backend ever computes on them.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers.modeling_outputs import (
    BaseModelOutputWithPooling,
    MaskedLMOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)

# transformers 4.57 copies only the direct relative imports of this file when it loads remote code from a local
# directory (transitive ones since huggingface/transformers#46022), so every sibling module is imported here.
from .alibi import AlibiBias  # noqa: F401
from .attention import MosaicBertAttention  # noqa: F401
from .configuration_mosaic_bert import MosaicBertConfig
from .dropout import HashDropout
from .embeddings import MosaicBertEmbeddings
from .ffn import FFN_REGISTRY  # noqa: F401
from .heads import CLASSIFICATION_LOSSES, MosaicBertMLMHead, MosaicBertPooler, classification_problem_type
from .layer_norm import LowPrecisionLayerNorm  # noqa: F401
from .layers import MosaicBertEncoder
from .padding import PaddingInfo, padding_info, repad, unpad

IGNORE_INDEX = -100  # the label of a token that is not scored (PyTorch's and transformers' convention)


class MosaicBertPreTrainedModel(PreTrainedModel):
    """Weight initialisation and config class shared by all MosaicBERT models."""

    config_class = MosaicBertConfig
    base_model_prefix = "bert"
    supports_gradient_checkpointing = True

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            module.weight.data.normal_(mean=0.0, std=std)
            if module.bias is not None:
                module.bias.data.zero_()
        elif isinstance(module, nn.Embedding):
            module.weight.data.normal_(mean=0.0, std=std)
            if module.padding_idx is not None:
                module.weight.data[module.padding_idx].zero_()
        elif isinstance(module, nn.LayerNorm):
            module.weight.data.fill_(1.0)
            module.bias.data.zero_()


class MosaicBertModel(MosaicBertPreTrainedModel):
    """The encoder: embeddings and layers on unpadded tokens, plus an optional pooler."""

    def __init__(self, config: MosaicBertConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = MosaicBertEmbeddings(config)
        self.encoder = MosaicBertEncoder(config)
        self.pooler = MosaicBertPooler(config) if add_pooling_layer else None
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embeddings.word_embeddings = value

    def encode(self, input_ids: torch.Tensor, attention_mask: Optional[torch.Tensor] = None,
               token_type_ids: Optional[torch.Tensor] = None,
               position_ids: Optional[torch.Tensor] = None,
               document_ids: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, PaddingInfo]:
        """Hidden states of the real tokens only, ``(total, hidden)``, and where they sit in the batch.

        ``document_ids`` (packed rows, see ``padding.padding_info``): each document is its own sequence, with
        absolute positions restarting at each one."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        info = padding_info(attention_mask, document_ids)
        token_type_ids = torch.zeros_like(input_ids) if token_type_ids is None else token_type_ids
        positions = None if position_ids is None else unpad(position_ids, info)
        if self.embeddings.position_embeddings is not None and position_ids is None:
            positions = (unpad(torch.arange(input_ids.shape[1], device=input_ids.device).expand_as(input_ids), info)
                         if document_ids is None else info.positions())
        hidden = self.embeddings(unpad(input_ids, info), unpad(token_type_ids, info), positions)
        return self.encoder(hidden, info.cu_seqlens, info.max_seqlen), info

    def pool(self, hidden: torch.Tensor, info: PaddingInfo) -> torch.Tensor:
        """Pooler output from unpadded hidden states (first real token of every row)."""
        return self.pooler(hidden.index_select(0, info.first_tokens()))

    def forward(self, input_ids: torch.Tensor, attention_mask: Optional[torch.Tensor] = None,
                token_type_ids: Optional[torch.Tensor] = None, position_ids: Optional[torch.Tensor] = None,
                return_dict: Optional[bool] = None, document_ids: Optional[torch.Tensor] = None):
        hidden, info = self.encode(input_ids, attention_mask, token_type_ids, position_ids, document_ids)
        output = BaseModelOutputWithPooling(
            last_hidden_state=repad(hidden, info),
            pooler_output=None if self.pooler is None else self.pool(hidden, info),
        )
        return output if _use_return_dict(self.config, return_dict) else output.to_tuple()


class MosaicBertForMaskedLM(MosaicBertPreTrainedModel):
    """Masked LM; with ``labels`` the head runs only on masked tokens (``labels != -100``)."""

    # target -> source: the form transformers 5 requires; transformers 4.57 reads the keys (the tie itself goes
    # through get_input/output_embeddings in both)
    _tied_weights_keys = {"mlm_head.decoder.weight": "bert.embeddings.word_embeddings.weight"}

    def __init__(self, config: MosaicBertConfig):
        super().__init__(config)
        self.bert = MosaicBertModel(config, add_pooling_layer=False)
        self.mlm_head = MosaicBertMLMHead(config)
        self.post_init()

    def get_output_embeddings(self) -> nn.Linear:
        return self.mlm_head.decoder

    def set_output_embeddings(self, new_embeddings: nn.Linear) -> None:
        self.mlm_head.decoder = new_embeddings

    def forward(self, input_ids: torch.Tensor, attention_mask: Optional[torch.Tensor] = None,
                token_type_ids: Optional[torch.Tensor] = None, position_ids: Optional[torch.Tensor] = None,
                labels: Optional[torch.Tensor] = None, return_dict: Optional[bool] = None,
                document_ids: Optional[torch.Tensor] = None):
        """Without labels: logits ``(batch, seq, vocab_size)`` (zeros at padding). With labels: logits
        ``(num_masked, vocab_size)`` ordered like ``labels[labels != -100]`` over real tokens, and the mean
        cross-entropy over the masked tokens (0 if none). ``document_ids``: packed rows (``MosaicBertModel.encode``)."""
        hidden, info = self.bert.encode(input_ids, attention_mask, token_type_ids, position_ids, document_ids)
        if labels is None:
            output = MaskedLMOutput(logits=repad(self.mlm_head(hidden), info))
        else:
            token_labels = unpad(labels, info)
            masked = torch.nonzero(token_labels != IGNORE_INDEX).flatten()
            logits = self.mlm_head(hidden.index_select(0, masked))
            loss = F.cross_entropy(logits, token_labels[masked], reduction="sum") / max(masked.numel(), 1)
            output = MaskedLMOutput(loss=loss, logits=logits)
        return output if _use_return_dict(self.config, return_dict) else output.to_tuple()


class MosaicBertForSequenceClassification(MosaicBertPreTrainedModel):
    """Pooled first token -> dropout -> linear; loss by ``problem_type`` (regression when num_labels == 1)."""

    def __init__(self, config: MosaicBertConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = MosaicBertModel(config, add_pooling_layer=True)
        dropout = config.classifier_dropout
        self.dropout = HashDropout(config.hidden_dropout_prob if dropout is None else dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids: torch.Tensor, attention_mask: Optional[torch.Tensor] = None,
                token_type_ids: Optional[torch.Tensor] = None, position_ids: Optional[torch.Tensor] = None,
                labels: Optional[torch.Tensor] = None, return_dict: Optional[bool] = None,
                document_ids: Optional[torch.Tensor] = None):
        hidden, info = self.bert.encode(input_ids, attention_mask, token_type_ids, position_ids, document_ids)
        logits = self.classifier(self.dropout(self.bert.pool(hidden, info)))
        loss = None
        if labels is not None:
            loss = CLASSIFICATION_LOSSES[classification_problem_type(self.config, labels)](logits, labels)
        output = SequenceClassifierOutput(loss=loss, logits=logits)
        return output if _use_return_dict(self.config, return_dict) else output.to_tuple()


class MosaicBertForTokenClassification(MosaicBertPreTrainedModel):
    """A label per token: dropout -> linear on the unpadded encoder output (padding never reaches the head); the
    loss is the mean cross-entropy over the labelled tokens (``labels != -100``), as transformers' BERT."""

    def __init__(self, config: MosaicBertConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = MosaicBertModel(config, add_pooling_layer=False)
        dropout = config.classifier_dropout
        self.dropout = HashDropout(config.hidden_dropout_prob if dropout is None else dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids: torch.Tensor, attention_mask: Optional[torch.Tensor] = None,
                token_type_ids: Optional[torch.Tensor] = None, position_ids: Optional[torch.Tensor] = None,
                labels: Optional[torch.Tensor] = None, return_dict: Optional[bool] = None,
                document_ids: Optional[torch.Tensor] = None):
        """Logits ``(batch, seq, num_labels)``, zeros at padding."""
        hidden, info = self.bert.encode(input_ids, attention_mask, token_type_ids, position_ids, document_ids)
        token_logits = self.classifier(self.dropout(hidden))
        loss = None
        if labels is not None:
            loss = F.cross_entropy(token_logits.float(), unpad(labels, info), ignore_index=IGNORE_INDEX)
        output = TokenClassifierOutput(loss=loss, logits=repad(token_logits, info))
        return output if _use_return_dict(self.config, return_dict) else output.to_tuple()


class MosaicBertForQuestionAnswering(MosaicBertPreTrainedModel):
    """Extractive QA: a start and an end logit per token (linear on the unpadded encoder output); padding gets
    ``-inf`` so that no span starts or ends there. Loss: the mean of the start and end cross-entropies, positions
    clamped to the sequence as in transformers' BERT."""

    def __init__(self, config: MosaicBertConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = MosaicBertModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids: torch.Tensor, attention_mask: Optional[torch.Tensor] = None,
                token_type_ids: Optional[torch.Tensor] = None, position_ids: Optional[torch.Tensor] = None,
                start_positions: Optional[torch.Tensor] = None, end_positions: Optional[torch.Tensor] = None,
                return_dict: Optional[bool] = None, document_ids: Optional[torch.Tensor] = None):
        hidden, info = self.bert.encode(input_ids, attention_mask, token_type_ids, position_ids, document_ids)
        logits = repad(self.qa_outputs(hidden).float(), info)
        if attention_mask is not None:
            logits = logits.masked_fill(~attention_mask.bool().unsqueeze(-1), float("-inf"))
        start_logits, end_logits = logits.unbind(dim=-1)
        loss = None
        if start_positions is not None and end_positions is not None:
            length = input_ids.shape[1]
            loss = (F.cross_entropy(start_logits, start_positions.clamp(0, length), ignore_index=length)
                    + F.cross_entropy(end_logits, end_positions.clamp(0, length), ignore_index=length)) / 2
        output = QuestionAnsweringModelOutput(loss=loss, start_logits=start_logits, end_logits=end_logits)
        return output if _use_return_dict(self.config, return_dict) else output.to_tuple()


def _use_return_dict(config: MosaicBertConfig, return_dict: Optional[bool]) -> bool:
    """``return_dict`` or the config's (``config.return_dict``: ``use_return_dict`` is deprecated in transformers 5)."""
    return config.return_dict if return_dict is None else return_dict
