// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IAggregatorV3} from "../interfaces/IAggregatorV3.sol";

/// @title SettableAggregator
/// @notice A Chainlink AggregatorV3-compatible feed whose answer the owner sets. For local chains and
///         tests only: on public networks the price adapters read real Chainlink feeds.
/// @dev Every update opens a new round (ids start at 1 and increase by one); past rounds stay readable.
contract SettableAggregator is IAggregatorV3, Ownable {
    struct Round {
        int256 answer;
        uint64 startedAt;
        uint64 updatedAt;
    }

    /// @inheritdoc IAggregatorV3
    uint8 public immutable override decimals;
    /// @inheritdoc IAggregatorV3
    uint256 public constant override version = 4;

    string private _description;
    /// @notice Id of the latest round.
    uint80 public latestRound;
    mapping(uint80 roundId => Round) private _rounds;

    /// @notice Chainlink's event shape: a new answer for round `roundId`, effective at `updatedAt`.
    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);

    /// @notice No round with this id has been written.
    error NoDataPresent(uint80 roundId);
    /// @notice The update time lies in the future or does not fit 64 bits.
    error InvalidTimestamp(uint256 updatedAt);

    /// @param decimals_ Decimals of the answers (8 for Chainlink USD feeds, 18 for ETH feeds).
    /// @param initialAnswer Answer of round 1, effective now.
    /// @param description_ Feed name, e.g. "ETH / USD".
    constructor(uint8 decimals_, int256 initialAnswer, string memory description_) Ownable(msg.sender) {
        decimals = decimals_;
        _description = description_;
        _write(initialAnswer, block.timestamp);
    }

    /// @notice Publishes `answer` as a new round, effective now. Owner only.
    function setAnswer(int256 answer) external onlyOwner {
        _write(answer, block.timestamp);
    }

    /// @notice Publishes `answer` as a new round with an explicit update time (at most now), so that
    ///         tests can produce stale rounds. Owner only.
    function setAnswerAt(int256 answer, uint256 updatedAt) external onlyOwner {
        if (updatedAt > block.timestamp) revert InvalidTimestamp(updatedAt);
        _write(answer, updatedAt);
    }

    /// @inheritdoc IAggregatorV3
    function description() external view override returns (string memory) {
        return _description;
    }

    /// @notice The latest answer (legacy AggregatorInterface).
    function latestAnswer() external view returns (int256) {
        return _rounds[latestRound].answer;
    }

    /// @inheritdoc IAggregatorV3
    function getRoundData(uint80 roundId) external view override returns (uint80, int256, uint256, uint256, uint80) {
        if (roundId == 0 || roundId > latestRound) revert NoDataPresent(roundId);
        Round memory r = _rounds[roundId];
        return (roundId, r.answer, r.startedAt, r.updatedAt, roundId);
    }

    /// @inheritdoc IAggregatorV3
    function latestRoundData() external view override returns (uint80, int256, uint256, uint256, uint80) {
        uint80 id = latestRound;
        Round memory r = _rounds[id];
        return (id, r.answer, r.startedAt, r.updatedAt, id);
    }

    function _write(int256 answer, uint256 updatedAt) private {
        uint80 id = latestRound + 1;
        latestRound = id;
        _rounds[id] = Round({answer: answer, startedAt: uint64(updatedAt), updatedAt: uint64(updatedAt)});
        emit AnswerUpdated(answer, id, updatedAt);
    }
}
